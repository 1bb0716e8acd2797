"""Metering across two gateway replicas (`tm server up --role gateway`) on one PostgreSQL database
and one Redis, under a concurrent load of mixed requests (streamed and not, chat and
completions, some streams abandoned), with one replica stopped in the middle.

SIGTERM: the replica drains and writes every record; it is restarted and the clients carry on.
Every answered request has exactly one record with the usage the client saw, the charges are
usage x price to the nano, the balances are credits - charges, and every gateway run is shown
stopped cleanly by `tm server metering status`.

SIGKILL: the replica loses the records it had not written yet, and only those: every request
the clients saw finish more than the flush window (+ the batch's own write time) before the
kill has its record, the surviving replica loses nothing, the money reconciles for what was
recorded, and the loss is reported: the surviving gateway logs a warning naming the dead run,
and `tm server metering status` shows it stopped without its last write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tensormesh.types.billing import ServerlessPricing
from tensormesh.types.money import Money
from tensormesh_server.controlplane import operator
from tensormesh_server.controlplane.context import utc_now
from tensormesh_server.controlplane.services import billing_pricing
from tensormesh_server.controlplane.services.activities import OPERATOR
from tensormesh_server.metering.runs import recent_runs, run_state
from tensormesh_server.store.billing_models import RequestRecord
from tensormesh_server.store.database import Database
from tests.billing.e2e import (
    FAKE_MODEL,
    KINDS,
    Customer,
    Seen,
    Target,
    check_money,
    check_records,
    client_loop,
    customer,
    fake_upstream,
)
from tests.controlplane.conftest import Postgres
from tests.support.servers import RunningServer, running_server

from .figures import SCALE, count, detail

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("TENSORMESH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FLUSH_SECONDS = 1.0
WRITE_MARGIN = 0.5
"""The batch's own write time and the gap between a client's end and its record's creation."""
REQUESTS = 300 * SCALE
CONCURRENCY = 8
FAULT_AFTER = REQUESTS // 2
CHUNK_DELAY = 0.05
"""Streams of 5 chunks: ~0.25 s each, so that the load lasts a few flush windows."""
REPORT_WITHIN = 30.0
"""Seconds for the surviving gateway to report the dead run (stale after 5 s, checked every 5 s)."""
LOST_WARNING = "stopped without writing its last records"


@dataclass
class Deployment:
    """Two gateways on one database, their users, keys and prices."""

    url: str
    db: Database
    people: list[Customer]
    prices: dict[str, ServerlessPricing]
    env: dict[str, str]
    args: list[str]
    tmp_path: Path

    def gateway(self) -> contextlib.AbstractContextManager[RunningServer]:
        """Start one more gateway process."""
        return running_server(self.tmp_path, args=self.args, env=self.env)

    def gateways(self, stack: contextlib.ExitStack, n: int) -> list[RunningServer]:
        """Start `n` gateway processes at once (stopped when `stack` closes)."""
        managers = [self.gateway() for _ in range(n)]
        with ThreadPoolExecutor(n) as pool:
            starts = [pool.submit(manager.__enter__) for manager in managers]
        for manager, start in zip(managers, starts, strict=True):
            if start.exception() is None:
                stack.push(manager)
        return [start.result() for start in starts]

    def status(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`tm [ARGS] server metering status`, run like an operator would."""
        env = {**os.environ, "TENSORMESH_DATABASE_URL": self.url}
        done = subprocess.run(
            [sys.executable, "-m", "tensormesh_cli", *args, "server", "metering", "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done

    def runs(self) -> dict[int, dict[str, Any]]:
        """The gateway runs by pid, from `tm --output json server metering status`."""
        runs = json.loads(self.status("--output", "json").stdout)["runs"]
        return {run["pid"]: run for run in runs}

    def states(self) -> dict[int, str]:
        """The state of each gateway run by pid, read from the database directly."""
        now = utc_now()
        return {run.pid: run_state(run, now) for run in recent_runs(self.db, 100)}

    def records(self) -> int:
        with self.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(RequestRecord)) or 0)


@contextlib.contextmanager
def deployment(tmp_path: Path, postgres: Postgres) -> Iterator[Deployment]:
    """A fresh PostgreSQL database (migrated once, before the gateways start), three users with
    credit (one key of each rate-limited through Redis), a priced model and a fake upstream."""
    url = postgres.create()
    db = Database(url)
    try:
        operator.migrate(db)
        people = [
            customer(db, f"user{n}@example.com", keys=2, credit=credit)
            for n, credit in enumerate(("40", "25.5", "10.25"))
        ]
        for person in people:
            row, secret = operator.create_api_key(
                db,
                person.email,
                name="limited",
                requests_per_minute=100_000,
                tokens_per_minute=10_000_000,
            )
            person.keys[row.id] = secret
        with db.session() as session:
            price = billing_pricing.create_pricing(
                session,
                OPERATOR,
                ServerlessPricing(
                    model=FAKE_MODEL,
                    input_token_price=Money.from_decimal("0.15"),
                    output_token_price=Money.from_decimal("0.6"),
                    cached_token_price=Money.from_decimal("0.075"),
                ),
                now=utc_now(),
                static_models=(FAKE_MODEL,),
            )
            prices = {FAKE_MODEL: billing_pricing.pricing_model(price)}
        with fake_upstream(chunk_delay=CHUNK_DELAY) as upstream:
            env = {
                "TENSORMESH_DATABASE_URL": url,
                "TENSORMESH_REDIS_URL": REDIS_URL,
                "TENSORMESH_METERING_FLUSH_SECONDS": str(FLUSH_SECONDS),
            }
            args = ["--role", "gateway", "--no-embedded", "--upstream", f"{FAKE_MODEL}={upstream}"]
            yield Deployment(url, db, people, prices, env, args, tmp_path)
    finally:
        db.dispose()


async def run_load(
    people: list[Customer],
    gateways: tuple[RunningServer, RunningServer],
    fault: Callable[[], Awaitable[str]],
) -> list[Seen]:
    """REQUESTS requests from CONCURRENCY clients spread over both gateways; half way, `fault`
    stops the first gateway and returns where its clients go on (their dropped requests are
    sent again there, with new ids)."""
    chooser = random.Random(11)
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for _ in range(REQUESTS):
        queue.put_nowait((chooser.choice(KINDS), FAKE_MODEL))
    targets = (Target(gateways[0].serverless_url), Target(gateways[1].serverless_url))
    seen: list[Seen] = []
    answered = [0]
    clients = [
        asyncio.ensure_future(client_loop(n, queue, people, targets[n % 2], seen, answered))
        for n in range(CONCURRENCY)
    ]
    while answered[0] < FAULT_AFTER:
        assert not all(client.done() for client in clients), "the load ended early"
        await asyncio.sleep(0.01)
    targets[0].url = await fault()
    targets[0].restarted.set()
    await asyncio.gather(*clients)
    count("requests run", len(seen))
    count("faults injected", 1)
    return seen


async def test_sigterm_of_a_replica_loses_nothing(tmp_path: Path, postgres: Postgres) -> None:
    began = time.monotonic()
    with deployment(tmp_path, postgres) as dep, contextlib.ExitStack() as stack:
        gateways = dep.gateways(stack, 2)
        first, other = gateways

        async def sigterm_and_restart() -> str:
            assert await asyncio.to_thread(first.stop) == 0, first.log()[-3000:]
            again = await asyncio.to_thread(stack.enter_context, dep.gateway())
            gateways.append(again)
            return again.serverless_url

        seen = await run_load(dep.people, (first, other), sigterm_and_restart)
        pids = [gateway.process.pid for gateway in gateways]
        states = dep.states()
        assert [states[pid] for pid in pids] == ["stopped", "running", "running"]
        for gateway in gateways[1:]:
            assert gateway.stop() == 0, gateway.log()[-3000:]
        counts = check_records(dep.db, seen, dep.people)
        money = check_money(dep.db, dep.people, dep.prices)
        runs = dep.runs()
        assert [runs[pid]["state"] for pid in pids] == ["stopped"] * 3
        total = sum(run["recordsWritten"] for run in runs.values())
        assert total == dep.records() == counts["records"]
        for gateway in gateways:
            assert LOST_WARNING not in gateway.log()  # no false report
    assert counts["answered"] >= REQUESTS
    assert counts["abandoned"] > 0
    count("records reconciled", counts["records"])
    detail(
        f"metering (2 gateways, PostgreSQL+Redis), SIGTERM: {len(seen)} requests, "
        f"{counts['answered']} answered, {counts['records']} records reconciled, 0 lost; "
        f"charged {', '.join(m['charged'] for m in money.values())} "
        f"({time.monotonic() - began:.1f} s)"
    )


async def test_sigkill_of_a_replica_loses_at_most_the_flush_window_and_reports_it(
    tmp_path: Path, postgres: Postgres
) -> None:
    began = time.monotonic()
    with deployment(tmp_path, postgres) as dep:
        with contextlib.ExitStack() as stack:
            victim, survivor = dep.gateways(stack, 2)
            killed_at = 0.0

            async def sigkill() -> str:
                nonlocal killed_at
                killed_at = time.monotonic()
                victim.process.send_signal(signal.SIGKILL)
                await asyncio.to_thread(victim.process.wait)
                return survivor.serverless_url

            seen = await run_load(dep.people, (victim, survivor), sigkill)
            deadline = killed_at + REPORT_WITHIN
            while LOST_WARNING not in survivor.log() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            reported_after = time.monotonic() - killed_at
            (warning,) = [line for line in survivor.log().splitlines() if LOST_WARNING in line]
            assert "WARNING" in warning
            assert f"pid {victim.process.pid})" in warning
            assert f"(at most {FLUSH_SECONDS:g} s of traffic) are not metered" in warning
            runs = dep.runs()
            assert runs[victim.process.pid]["state"] == "lost"
            assert runs[victim.process.pid]["lostAt"] is not None
            assert runs[survivor.process.pid]["state"] == "running"
            shown = dep.status()
            assert "stopped without its last write (up to 1 s not metered)" in shown.stdout
            assert "1 gateway run(s) stopped without writing their last records" in shown.stderr
            assert survivor.stop() == 0, survivor.log()[-3000:]

        horizon = killed_at - FLUSH_SECONDS - WRITE_MARGIN

        def lost_in_the_window(s: Seen) -> bool:
            return s.url == victim.serverless_url and s.finished >= horizon

        counts = check_records(dep.db, seen, dep.people, excused=lost_in_the_window)
        check_money(dep.db, dep.people, dep.prices)
        with dep.db.session() as session:
            recorded = set(session.scalars(select(RequestRecord.request_id)))
        assert dep.states()[survivor.process.pid] == "stopped"
        # The heartbeat is written with each batch: the dead run's count is exact too.
        total = sum(run.records_written for run in recent_runs(dep.db, 100))
        assert total == dep.records() == counts["records"]
    on_victim = [s for s in seen if s.url == victim.serverless_url and s.status is not None]
    lost = [s for s in on_victim if s.request_id not in recorded]
    assert len(lost) == counts["missing"]
    oldest = max((killed_at - s.finished for s in lost), default=0.0)
    early = [s for s in on_victim if s.finished < horizon]
    assert len(early) >= 10, "the kill came too early to show that older records are kept"
    assert counts["abandoned"] > 0
    count("records reconciled", counts["records"])
    detail(
        f"metering (2 gateways, PostgreSQL+Redis), SIGKILL: {len(seen)} requests, "
        f"{counts['records']} records reconciled; lost after SIGKILL: {len(lost)} of "
        f"{len(on_victim)} within the {FLUSH_SECONDS:.1f} s window (the oldest finished "
        f"{oldest:.2f} s before the kill); reported by the surviving "
        f"gateway {reported_after:.1f} s after the kill "
        f"({time.monotonic() - began:.1f} s)"
    )
