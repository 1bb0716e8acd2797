"""The acceptance test of the money: hundreds of concurrent inference requests (streamed and
not, some abandoned mid-stream, a few on the embedded model) from several keys of two users,
through two gateway processes on one database, with a SIGTERM to one server in the middle
(restarted, the clients carry on). Afterwards no
request the clients got an answer to lacks its record, the records hold the usage the clients
saw, and for each user the records' usage times the price equals the CHARGE transactions to
the nano and the balance equals credits minus charges. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tensormesh.types.billing import ServerlessPricing
from tensormesh_server.store.database import Database
from tests.conftest import EMBEDDED_MODEL
from tests.support.servers import RunningServer, running_server

from .e2e import (
    FAKE_MODEL,
    KINDS,
    Customer,
    Seen,
    Target,
    admin_headers,
    check_money,
    check_records,
    client_loop,
    customer,
    database_for,
    fake_upstream,
    price_model,
    send,
)

pytestmark = pytest.mark.slow

REQUESTS = 520
EMBEDDED_REQUESTS = 4
CONCURRENCY = 24
SIGTERM_AFTER = REQUESTS // 2


async def embedded_requests(people: list[Customer], url: str, seen: list[Seen]) -> None:
    """A few requests on the embedded model, one at a time (llama.cpp's threads do poorly
    on two cores saturated by the fake load)."""
    target = Target(url)
    async with httpx2.AsyncClient(timeout=60) as http:
        for n in range(EMBEDDED_REQUESTS // 2):
            person = people[n % len(people)]
            key_id, secret = sorted(person.keys.items())[0]
            kind = ("chat", "chat-stream", "responses-stream", "completion")[n % 4]
            one = Seen(f"embedded-{url[-5:]}-{n}", person.id, key_id, EMBEDDED_MODEL, kind)
            seen.append(one)
            await send(http, target, one, secret)


async def run_load(
    people: list[Customer], first: RunningServer, other: RunningServer, restart: Any
) -> tuple[list[Seen], RunningServer]:
    """REQUESTS requests from CONCURRENCY clients, half of them through `other` (a second
    gateway process on the same database); SIGTERM + restart of `first` half way; a few
    embedded requests before the load and after the restart."""
    chooser = random.Random(7)
    work: list[tuple[str, str]] = [(chooser.choice(KINDS), FAKE_MODEL) for _ in range(REQUESTS)]
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    target = Target(first.serverless_url)
    other_target = Target(other.serverless_url)
    seen: list[Seen] = []
    await embedded_requests(people, first.serverless_url, seen)
    answered = [0]
    clients = [
        asyncio.ensure_future(
            client_loop(n, queue, people, other_target if n % 2 else target, seen, answered)
        )
        for n in range(CONCURRENCY)
    ]
    while answered[0] < SIGTERM_AFTER:
        await asyncio.sleep(0.02)
    assert await asyncio.to_thread(first.stop) == 0, first.log()[-3000:]
    second: RunningServer = await asyncio.to_thread(restart)
    target.url = second.serverless_url
    target.restarted.set()
    await asyncio.gather(*clients)
    await embedded_requests(people[::-1], second.serverless_url, seen)
    return seen, second


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_every_request_is_metered_and_charged_to_the_nano(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database_for(backend, tmp_path, request)
    env = {"TENSORMESH_DATABASE_URL": url, "TENSORMESH_METERING_FLUSH_SECONDS": "0.5"}
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(fake_upstream(chunk_delay=0.02))
        args = ["--upstream", f"{FAKE_MODEL}={upstream}"]
        first = stack.enter_context(running_server(tmp_path, args=args, env=env))
        gateway_args = [*args, "--no-embedded", "--role", "gateway"]
        other = stack.enter_context(running_server(tmp_path, args=gateway_args, env=env))
        db = Database(url)
        stack.callback(db.dispose)
        people = [
            customer(db, "ada@example.com", keys=3, credit="100"),
            customer(db, "bo@example.com", keys=2, credit="50.5"),
        ]
        admin = admin_headers(db)
        fake_price = price_model(
            first.controlplane_url,
            admin,
            FAKE_MODEL,
            inputTokenPrice="0.15",
            outputTokenPrice="0.6",
            cachedTokenPrice="0.075",
        )
        public = httpx2.get(
            first.controlplane_url + "/v1/billing/serverless-pricing",
            params={"activeOnly": "true"},
            headers=admin,
        ).json()["pricing"]
        prices = {p["model"]: ServerlessPricing.model_validate(p) for p in public}
        assert prices[FAKE_MODEL].id == fake_price["id"]
        assert EMBEDDED_MODEL in prices

        def restart() -> RunningServer:
            return stack.enter_context(running_server(tmp_path, args=args, env=env))

        seen, second = await run_load(people, first, other, restart)
        assert second.stop() == 0  # SIGTERM: every record left is written
        assert other.stop() == 0
        counts = check_records(db, seen, people)
        money = check_money(db, people, prices)
    kinds = Counter(s.kind for s in seen if s.status is not None)
    unknown = sum(1 for s in seen if s.status is None)
    embedded = sum(1 for s in seen if s.model == EMBEDDED_MODEL and s.status == 200)
    print(
        f"\n[{backend}] sent {len(seen)} ({unknown} without an answer while the server stopped),"
        f" {counts}, embedded {embedded}, {dict(kinds)}, {money}"
    )
    assert counts["answered"] >= REQUESTS + EMBEDDED_REQUESTS
    assert counts["abandoned"] > 0
    assert embedded == EMBEDDED_REQUESTS
