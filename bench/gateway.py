"""Gateway overhead: responders direct vs through `tm server up --no-embedded --upstream ...`,
driven by the raw asyncio load client of `bench.loadgen` in this process.

Two upstreams run in their own processes behind one gateway process: the bench responder (a
raw asyncio protocol, `bench.responder`) and the shared `tensormesh_server.testing.fake_upstream`
(an ASGI app under uvicorn, like real OpenAI-compatible servers). Both answer at once, so
with 16 in flight everything is CPU-bound on the 2 shared cores and the gateway's CPU per request
decides its rate. A third upstream, the bench responder with a fixed 5 ms service time per
completion (a timer, like a fast model server), shows the throughput kept when the upstream is
not instant. Direct and gateway runs alternate round by round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

from .common import (
    API_KEY,
    CHAT_BODY,
    PYTHON,
    Block,
    Row,
    child,
    cpu_seconds,
    free_port,
    interleave,
    median,
    percentile,
    responder,
    responder_process,
    tm_server,
)
from .loadgen import Endpoint, LoadResult, build_request, run_load
from .responder import run_loop

PATH = "/v1/chat/completions"
AUTH = {"authorization": f"Bearer {API_KEY}"}
SERVICE_TIME = 0.005
"""Seconds the third responder waits before answering each completion."""
SERVED = f"bench responder, {SERVICE_TIME * 1000:.0f} ms service time"


@contextmanager
def fake_upstream() -> Iterator[str]:
    """The shared fake upstream (uvicorn) in its own process; yields its base URL."""
    port = free_port()
    command = [PYTHON, "-m", "tensormesh_server.testing.fake_upstream", "--port", str(port)]
    with child(command, f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def served_responder(delay: float) -> Iterator[str]:
    """The bench responder answering after `delay` s, in its own process; yields its URL."""
    with responder_process(delay) as started:
        yield started.url


class Target:
    """Where the load goes: one base URL or several (replicas, spread round-robin), the model
    to ask for, the headers to send, and the pids of the servers whose CPU time per request is
    worth recording (if any). `bodies` replaces the default chat body (sent in turn)."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        model: str,
        headers: dict[str, str],
        pid: int | Sequence[int] | None = None,
        bodies: Sequence[Mapping[str, object]] = (),
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.url = " + ".join(urls)
        self.pids = [pid] if isinstance(pid, int) else list(pid or ())
        self.endpoints = []
        for url in urls:
            parts = urlsplit(url)
            requests = [
                build_request(url + PATH, {**body, "model": model}, headers)
                for body in (bodies or [CHAT_BODY])
            ]
            self.endpoints.append(
                Endpoint(parts.hostname or "127.0.0.1", parts.port or 80, requests)
            )

    def load(self, concurrency: int, seconds: float) -> LoadResult:
        """Run the load; with pids, also estimate the servers' CPU seconds per request.
        Raises RuntimeError on any answer but 200."""
        before, began = self.cpu(), time.perf_counter()
        result: LoadResult = run_loop(
            run_load(self.endpoints, concurrency=concurrency, seconds=seconds)
        )
        if result.errors or not result.latencies:
            raise RuntimeError(
                f"{self.url}: {len(result.latencies)} answers, {result.errors} errors "
                f"(status: count {dict(result.statuses)})"
            )
        if self.pids:  # the share of a core they used, over the requests per second
            busy = (self.cpu() - before) / (time.perf_counter() - began)
            result.server_cpu = busy / result.rate
        return result

    def cpu(self) -> float:
        """CPU seconds used so far by the servers with pids."""
        return sum(cpu_seconds(pid) for pid in self.pids)


def load_blocks(
    pair: dict[str, Target], concurrency: int, seconds: float
) -> tuple[dict[str, Block], dict[str, list[LoadResult]]]:
    """Blocks for `interleave` that load each target, and where their results are kept."""
    kept: dict[str, list[LoadResult]] = {name: [] for name in pair}

    def block(name: str) -> Block:
        def run() -> tuple[int, float]:
            result = pair[name].load(concurrency, seconds)
            kept[name].append(result)
            return len(result.latencies), result.seconds

        return run

    return {name: block(name) for name in pair}, kept


def gateway_overhead(
    seconds: float, rounds: int, in_flight: int, say: Callable[[str], None]
) -> list[Row]:
    """Added latency with 1 in flight and kept throughput with `in_flight` in flight."""
    with responder() as fast, fake_upstream() as fake, served_responder(SERVICE_TIME) as slow:
        upstreams = ["--upstream", f"fast={fast}", "--upstream", f"fake={fake}"]
        upstreams += ["--upstream", f"slow={slow}"]
        with tm_server(["--no-embedded", *upstreams]) as gateway:
            pairs = {
                "bench responder": {
                    "direct": Target(fast, "fast", {}),
                    "gateway": Target(gateway.url, "fast", AUTH, gateway.pid),
                },
                "fake_upstream": {
                    "direct": Target(fake, "fake", {}),
                    "gateway": Target(gateway.url, "fake", AUTH, gateway.pid),
                },
                SERVED: {
                    "direct": Target(slow, "slow", {}),
                    "gateway": Target(gateway.url, "slow", AUTH, gateway.pid),
                },
            }
            for pair in pairs.values():  # warm-up
                for target in pair.values():
                    target.load(in_flight, 0.3)
            say("gateway in front of the bench responder, 1 in flight: requests/s:")
            blocks, latency = load_blocks(pairs["bench responder"], 1, seconds)
            interleave(rounds, 1, blocks, say)
            throughput = {}
            for upstream, pair in pairs.items():
                say(f"gateway in front of {upstream}, {in_flight} in flight: requests/s:")
                blocks, throughput[upstream] = load_blocks(pair, in_flight, seconds)
                interleave(rounds, 1, blocks, say)
    return [
        _latency_row(latency),
        *(_throughput_row(name, in_flight, runs) for name, runs in throughput.items()),
    ]


def _latency_row(runs: dict[str, list[LoadResult]]) -> Row:
    ms = {}
    for name, results in runs.items():
        samples = [latency for result in results for latency in result.latencies]
        ms[name] = {
            "median": median(samples) * 1000,
            "p99": percentile(samples, 0.99) * 1000,
            "requests": len(samples),
        }
    added = ms["gateway"]["median"] - ms["direct"]["median"]
    added_p99 = ms["gateway"]["p99"] - ms["direct"]["p99"]
    cpu_us = _cpu_us(runs["gateway"])
    return Row(
        name="gateway added latency, 1 in flight",
        measured=(
            f"median +{added:.3f} ms, p99 +{added_p99:.3f} ms "
            f"(direct {ms['direct']['median']:.3f} ms; gateway CPU {cpu_us:.0f} us/req)"
        ),
        ratio=added,
        target="median added <= 1 ms",
        passed=added <= 1.0,
        details={
            "upstream": "bench responder",
            "latency_ms": ms,
            "added_median_ms": added,
            "added_p99_ms": added_p99,
        },
    )


def _throughput_row(upstream: str, in_flight: int, runs: dict[str, list[LoadResult]]) -> Row:
    """Requests per second kept; CPU-bound for the instant upstreams, not for SERVED."""
    rates = {name: [result.rate for result in results] for name, results in runs.items()}
    kept = median([g / d for d, g in zip(rates["direct"], rates["gateway"], strict=True)])
    direct, through = median(rates["direct"]), median(rates["gateway"])
    ms = {}
    for name, results in runs.items():
        samples = [latency for result in results for latency in result.latencies]
        ms[name] = {"median": median(samples) * 1000, "p99": percentile(samples, 0.99) * 1000}
    cpu_us = _cpu_us(runs["gateway"])
    instant = upstream != SERVED
    bound = " (instant: CPU-bound, 2 shared cores)" if instant else ""
    return Row(
        name=f"gateway req/s, {in_flight} in flight, {upstream}{bound}",
        measured=(
            f"gateway {through:,.0f} | direct {direct:,.0f} "
            f"(gateway p99 {ms['gateway']['p99']:.1f} ms, CPU {cpu_us:.0f} us/req)"
        ),
        ratio=kept,
        target="gateway/direct >= 0.60",
        passed=kept >= 0.6,
        details={
            "upstream": upstream,
            "requests_per_second": rates,
            "kept": kept,
            "latency_ms": ms,
            "gateway_cpu_us_per_request": cpu_us,
        },
    )


def _cpu_us(results: list[LoadResult]) -> float:
    """Median CPU microseconds per request of the gateway process over the runs."""
    return median([r.server_cpu for r in results if r.server_cpu is not None]) * 1e6
