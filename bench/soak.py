"""Soak: minutes of steady mixed load through 2 gateway replicas, with the resident memory of
every process sampled, the answers counted and the metering checked.

The layout is the one of `bench.replicas` (PostgreSQL made for the run, Redis, a database key
of a user with credit and a priced model), with per-minute limits set on the key (far above the
load) so that every request also goes through the Redis rate limiter. The load alternates
non-streamed and streamed (16 chunks) chat completions, spread round-robin over both gateways,
against the bench responder with its 5 ms service time. It runs in segments of `sample_every`
seconds; after each, the VmRSS of every process (each gateway, the responder, this load client)
is read from /proc/PID/status. "start" is the sample after the warm-up (caches, connection pools
and allocator arenas filled); a process passes when its RSS at the end is at most
GROWTH_BOUND above its start. After the gateways stop (SIGTERM: metering flushed), the
database must hold one request record per answer, and the user's balance must be the credit
less the charges.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tensormesh.types.money import Money

from .common import CHAT_BODY, Row, postgres_database, responder_process, rss_bytes
from .gateway import SERVICE_TIME, Target
from .loadgen import run_load
from .replicas import CREDIT, EMAIL, gateways
from .responder import run_loop

MIB = 1024 * 1024
GROWTH_BOUND = 32 * MIB
"""Growth of RSS allowed per process between the end of the warm-up and the end of the soak.

A Python process's RSS moves by a few MiB with no leak (allocator arenas, the garbage
collector's timing, caches filling up); 32 MiB stays well above that noise and well below what
a leak on the request path adds: at the 500-1,000 requests/s of this soak on 2 cores, 180 s is
90,000-180,000 requests, so a few hundred bytes kept per request cross it ("soak answers"
prints the bound per request of the run)."""
MODEL = "5ms"
STREAM_BODY: dict[str, object] = {**CHAT_BODY, "stream": True, "max_tokens": 16}
IN_FLIGHT = 32
LIMIT = 1_000_000_000
"""Requests and tokens per minute allowed to the key: never reached, but checked in Redis."""


@dataclass
class Memory:
    """RSS samples (bytes) of one process: `before` the load, then one per segment."""

    pid: int
    before: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)

    def sample(self, elapsed: float) -> None:
        self.samples.append((elapsed, rss_bytes(self.pid)))

    def after(self, warmup: float) -> list[int]:
        """The samples taken after the warm-up (at least the last one)."""
        kept = [rss for elapsed, rss in self.samples if elapsed >= warmup]
        return kept or [self.samples[-1][1]]


def soak(
    seconds: float,
    warmup: float,
    say: Callable[[str], None],
    *,
    sample_every: float = 5.0,
    in_flight: int = IN_FLIGHT,
    bound: int = GROWTH_BOUND,
) -> list[Row]:
    """Run the soak for `warmup` + `seconds` seconds; rows: memory per process, answers,
    metering."""
    with responder_process(SERVICE_TIME) as upstream, postgres_database() as database_url:
        with gateways(2, {MODEL: upstream.url}, database_url, limits=LIMIT) as replicas:
            urls = [server.url for server in replicas.servers]
            target = Target(urls, MODEL, replicas.headers, bodies=[CHAT_BODY, STREAM_BODY])
            pids = {f"gateway {n}": s.pid for n, s in enumerate(replicas.servers, 1)}
            pids |= {"responder": upstream.pid, "load client (bench)": os.getpid()}
            memory = {name: Memory(pid, rss_bytes(pid)) for name, pid in pids.items()}
            say(
                f"soak: {warmup:.0f} s warm-up + {seconds:.0f} s, {in_flight} in flight over "
                f"2 gateways, RSS sampled every {sample_every:.0f} s"
            )
            served, statuses, took = _run(
                target, memory, warmup + seconds, sample_every, in_flight, say
            )
        records = _metering(database_url)
    errors = sum(statuses.values())
    rows = [_memory_row(name, process, warmup, bound) for name, process in memory.items()]
    rows.append(
        Row(
            name="soak answers",
            measured=(
                f"{served:,} answered 200 in {took:.0f} s ({served / took:,.0f} req/s, half "
                f"streamed), {errors} others {dict(statuses) or ''}"
            ).rstrip()
            + f"; RSS bound {bound / max(served, 1):,.0f} B per request",
            ratio=None,
            target="no answer but 200",
            passed=errors == 0 and served > 0,
            details={"served": served, "statuses": dict(statuses), "seconds": took},
        )
    )
    rows.append(_metering_row(served + errors, records))
    return rows


def _run(
    target: Target,
    memory: dict[str, Memory],
    total: float,
    sample_every: float,
    in_flight: int,
    say: Callable[[str], None],
) -> tuple[int, Counter[int], float]:
    """The load in segments, sampling memory after each; (200 answers, other statuses, s)."""
    served, statuses = 0, Counter[int]()
    began = time.perf_counter()
    while (elapsed := time.perf_counter() - began) < total:
        span = min(sample_every, total - elapsed)
        result = run_loop(run_load(target.endpoints, concurrency=in_flight, seconds=span, warmup=0))
        served += len(result.latencies)
        statuses.update(result.statuses)
        elapsed = time.perf_counter() - began
        for process in memory.values():
            process.sample(elapsed)
        say(
            f"  {elapsed:5.0f} s: {result.rate:,.0f} req/s, {result.errors} errors; RSS MiB "
            + ", ".join(f"{n} {m.samples[-1][1] / MIB:.1f}" for n, m in memory.items())
        )
    return served, statuses, time.perf_counter() - began


@dataclass(frozen=True)
class Metering:
    """What the gateways wrote: request records, what they were charged, the user's balance."""

    records: int
    charged_nanos: int
    credit_nanos: int
    balance_nanos: int


def _metering(database_url: str) -> Metering:
    from sqlalchemy import func, select

    from tensormesh_server.controlplane.services import billing_ledger
    from tensormesh_server.store.billing_models import RequestRecord
    from tensormesh_server.store.database import Database
    from tensormesh_server.store.models import User

    db = Database(database_url)
    try:
        with db.session() as session:
            user = session.scalars(select(User).where(User.email == EMAIL)).one()
            records, charged = session.execute(
                select(func.count(), func.coalesce(func.sum(RequestRecord.charge_nanos), 0))
            ).one()
            balance = billing_ledger.balance_nanos(session, user.id)
    finally:
        db.dispose()
    credit = Money.from_decimal(CREDIT).to_nanos()
    return Metering(int(records), int(charged), credit, balance)


def _metering_row(sent: int, metering: Metering) -> Row:
    """One request record per answer; the balance is the credit less the charges."""
    money = Money.from_nanos
    exact = metering.balance_nanos == metering.credit_nanos - metering.charged_nanos
    return Row(
        name="soak metering",
        measured=(
            f"{metering.records:,} request records for {sent:,} answers; charged "
            f"{money(metering.charged_nanos)}, balance {money(metering.balance_nanos)} "
            f"of {money(metering.credit_nanos)}"
        ),
        ratio=None,
        target="records = answers, balance = credit - charges",
        passed=metering.records == sent and metering.charged_nanos > 0 and exact,
        details=dataclasses.asdict(metering),
    )


def _memory_row(name: str, process: Memory, warmup: float, bound: int) -> Row:
    after = process.after(warmup)
    start, end, peak = after[0], after[-1], max(after)
    growth = end - start
    return Row(
        name=f"soak RSS, {name}",
        measured=(
            f"before {process.before / MIB:.1f}, start {start / MIB:.1f}, max {peak / MIB:.1f}, "
            f"end {end / MIB:.1f} MiB: growth {growth / MIB:+.1f} MiB"
        ),
        ratio=growth / bound,
        target=f"growth <= {bound / MIB:.0f} MiB",
        passed=growth <= bound,
        details={
            "pid": process.pid,
            "before_bytes": process.before,
            "start_bytes": start,
            "max_bytes": peak,
            "end_bytes": end,
            "growth_bytes": growth,
            "samples": process.samples,
        },
    )
