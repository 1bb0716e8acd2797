"""Load through gateway replicas: throughput and p50/p99 latency with 1, 16 and 64 requests in
flight, going direct to the upstream vs through 1 gateway process vs through 2 gateway replicas.

The layout is the production one of docs/deploy.md on loopback: `tm server up --role gateway
--no-embedded --upstream ...` processes sharing a PostgreSQL database (made for the run and
dropped after it) and Redis, with a database inference key of a user with credit and a priced
model, so that the key check, the balance check and metering are on the path. Two gateways
run; "1 gateway" sends every request to the first, "2 gateways" spreads them round-robin over
both from every connection (an HTTP load balancer). The upstreams are the bench responder in
its own process, with a 5 ms service time (a fast model server) and instant (the gateway's own
cost). The load client is `bench.loadgen` in this process. Direct, 1 gateway and 2 gateways
alternate in every round, so they share the machine's noise; every process (load client,
responder, gateways) shares the same cores, so on a small machine 2 replicas cannot add CPU:
they add only what the 2nd process's event loop wins over the 1st's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tensormesh.types.billing import ServerlessPricing
from tensormesh.types.money import Money

from .common import (
    REDIS_URL,
    Row,
    Started,
    interleave,
    median,
    percentile,
    postgres_database,
    ready,
    responder_process,
    tm_server,
)
from .gateway import SERVICE_TIME, Target, load_blocks
from .loadgen import LoadResult

IN_FLIGHT = (1, 16, 64)
UPSTREAMS = {f"{SERVICE_TIME * 1000:.0f} ms": SERVICE_TIME, "instant": 0.0}
"""Upstream name -> service time per completion (also the model id, without spaces)."""
MODES = ("direct", "1 gateway", "2 gateways")
EMAIL = "bench@example.com"
CREDIT = "1000.00"
PRICE = "0.10"
"""Dollars per 1M input and output tokens of every model: requests cost micro-dollars."""


def model_id(upstream: str) -> str:
    """The model id the gateways serve `upstream` as."""
    return upstream.replace(" ", "")


@dataclass(frozen=True)
class Gateways:
    """Running gateway replicas: their processes and the inference key of the bench's user."""

    servers: list[Started]
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}


def prepare(database_url: str, models: Sequence[str], *, limits: int | None = None) -> str:
    """Migrate the database and add a user with credit, an inference key (with `limits`
    requests and tokens per minute, else unlimited) and a price for each model, as the
    operator would with `tm server db upgrade|users|api-keys|billing`; returns the key."""
    from tensormesh_server.controlplane import operator
    from tensormesh_server.controlplane.context import utc_now
    from tensormesh_server.controlplane.services import billing, billing_pricing
    from tensormesh_server.controlplane.services.activities import OPERATOR
    from tensormesh_server.store.database import Database

    db = Database(database_url)
    try:
        operator.migrate(db)
        operator.create_user(db, EMAIL)
        _, key = operator.create_api_key(
            db, EMAIL, name="bench", requests_per_minute=limits, tokens_per_minute=limits
        )
        billing.operator_credit(db, EMAIL, Money.from_decimal(CREDIT))
        price = Money.from_decimal(PRICE)
        with db.session() as session:
            for model in models:
                pricing = ServerlessPricing(
                    model=model, input_token_price=price, output_token_price=price
                )
                billing_pricing.create_pricing(
                    session, OPERATOR, pricing, now=utc_now(), static_models=models
                )
    finally:
        db.dispose()
    return key


@contextlib.contextmanager
def gateways(
    count: int, upstreams: dict[str, str], database_url: str, *, limits: int | None = None
) -> Iterator[Gateways]:
    """`count` gateway processes serving `upstreams` (model id -> URL) over `database_url`
    (prepared here) and the bench's Redis; stopped with SIGTERM at exit (metering flushed)."""
    key = prepare(database_url, list(upstreams), limits=limits)
    args = ["--role", "gateway", "--no-embedded"]
    for model, url in upstreams.items():
        args += ["--upstream", f"{model}={url}"]
    env = {"TENSORMESH_DATABASE_URL": database_url, "TENSORMESH_REDIS_URL": REDIS_URL}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(tm_server(args, env=env, wait=False)) for _ in range(count)]
        ready(servers)  # started side by side; the database is migrated already
        yield Gateways(servers, key)


def load(
    seconds: float,
    rounds: int,
    say: Callable[[str], None],
    in_flight: Sequence[int] | None = None,
    upstreams: Sequence[str] | None = None,
) -> list[Row]:
    """Rows of throughput kept and latency added by 1 and 2 gateways, per upstream (default
    all of UPSTREAMS) and number of requests in flight (default IN_FLIGHT), against direct in
    the same rounds."""
    in_flight = in_flight or IN_FLIGHT
    upstreams = upstreams or list(UPSTREAMS)
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        started = {
            name: stack.enter_context(responder_process(UPSTREAMS[name])) for name in upstreams
        }
        database_url = stack.enter_context(postgres_database())
        urls = {model_id(name): server.url for name, server in started.items()}
        replicas = stack.enter_context(gateways(2, urls, database_url))
        first, both = replicas.servers[0], replicas.servers
        for name in upstreams:
            model = model_id(name)
            targets = {
                "direct": Target(started[name].url, model, {}),
                "1 gateway": Target(first.url, model, replicas.headers, first.pid),
                "2 gateways": Target(
                    [s.url for s in both], model, replicas.headers, [s.pid for s in both]
                ),
            }
            for target in targets.values():  # warm-up: connections, caches, key and balance
                target.load(max(in_flight), 0.3)
            for count in in_flight:
                say(f"load, {name} upstream, {count} in flight: requests/s:")
                blocks, kept = load_blocks(targets, count, seconds)
                interleave(rounds, 1, blocks, say)
                rows += [_row(name, count, mode, kept) for mode in MODES[1:]]
    return rows


def _latency_ms(results: list[LoadResult]) -> tuple[float, float]:
    samples = [latency for result in results for latency in result.latencies]
    return median(samples) * 1000, percentile(samples, 0.99) * 1000


def _row(upstream: str, in_flight: int, mode: str, runs: dict[str, list[LoadResult]]) -> Row:
    """Throughput of `mode` over direct's (median of the rounds' ratios); latency added."""
    rates = {name: [result.rate for result in results] for name, results in runs.items()}
    kept = median([g / d for d, g in zip(rates["direct"], rates[mode], strict=True)])
    direct_ms, mode_ms = _latency_ms(runs["direct"]), _latency_ms(runs[mode])
    added = (mode_ms[0] - direct_ms[0], mode_ms[1] - direct_ms[1])
    cpu_us = median([r.server_cpu for r in runs[mode] if r.server_cpu is not None]) * 1e6
    return Row(
        name=f"load, {upstream} upstream, {in_flight:>2} in flight, {mode}",
        measured=(
            f"{median(rates[mode]):,.0f} req/s (direct {median(rates['direct']):,.0f}); "
            f"added p50 {added[0]:+.2f} ms, p99 {added[1]:+.2f} ms "
            f"(direct {direct_ms[0]:.2f}/{direct_ms[1]:.2f} ms); CPU {cpu_us:.0f} us/req"
        ),
        ratio=kept,
        target="-",
        passed=None,
        details={
            "upstream": upstream,
            "in_flight": in_flight,
            "mode": mode,
            "requests_per_second": {"direct": rates["direct"], mode: rates[mode]},
            "throughput_ratio": kept,
            "latency_ms": {
                "direct": {"p50": direct_ms[0], "p99": direct_ms[1]},
                mode: {"p50": mode_ms[0], "p99": mode_ms[1]},
            },
            "added_ms": {"p50": added[0], "p99": added[1]},
            "gateway_cpu_us_per_request": cpu_us,
        },
    )


def matrix(rows: Sequence[Row]) -> str:
    """The load rows as one Markdown table: a line per upstream and number in flight."""
    cells: dict[tuple[str, int], dict[str, dict[str, object]]] = {}
    for row in rows:
        if "mode" in row.details:
            key = (str(row.details["upstream"]), int(str(row.details["in_flight"])))
            cells.setdefault(key, {})[str(row.details["mode"])] = row.details
    lines = [
        "| upstream | in flight | direct req/s, p50/p99 ms "
        + "".join(f"| {mode}: req/s (ratio), added p50/p99 ms " for mode in MODES[1:])
        + "|",
        "|---|---|---" + "|---" * len(MODES[1:]) + "|",
    ]
    for (upstream, in_flight), modes in cells.items():
        first: Any = next(iter(modes.values()))
        direct = first["latency_ms"]["direct"]
        line = (
            f"| {upstream} | {in_flight} | {median(first['requests_per_second']['direct']):,.0f}, "
            f"{direct['p50']:.2f}/{direct['p99']:.2f} "
        )
        for mode in MODES[1:]:
            found: Any = modes[mode]
            line += (
                f"| {median(found['requests_per_second'][mode]):,.0f} "
                f"({found['throughput_ratio']:.2f}), "
                f"{found['added_ms']['p50']:+.2f}/{found['added_ms']['p99']:+.2f} "
            )
        lines.append(line + "|")
    return "\n".join(lines)
