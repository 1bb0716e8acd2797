"""The load benchmark and soak of `bench/` (issue 6): the load client's round-robin over
replicas, the soak's verdicts, and both run end to end, tiny, through `python -m bench.run`."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections import Counter
from pathlib import Path

import pytest
from bench import replicas, run, soak
from bench.common import CHAT_BODY
from bench.loadgen import Endpoint, build_request, run_load
from bench.responder import Answers, ResponderProtocol

MIB = 1024 * 1024


class CountingAnswers(Answers):
    """Answers that count the chat completions asked for, streamed or not."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: Counter[str] = Counter()

    def chat(self, body: bytes) -> bytes:
        self.asked["stream" if json.loads(body).get("stream") else "plain"] += 1
        return super().chat(body)


async def test_load_client_spreads_requests_over_replicas_and_sends_bodies_in_turn() -> None:
    loop = asyncio.get_running_loop()
    answers = [CountingAnswers(), CountingAnswers()]
    servers = []
    for one in answers:
        protocol = functools.partial(ResponderProtocol, one)
        servers.append(await loop.create_server(protocol, "127.0.0.1", 0))
    try:
        endpoints = []
        for server in servers:
            port = server.sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            bodies = [CHAT_BODY, {**CHAT_BODY, "stream": True, "max_tokens": 4}]
            endpoints.append(Endpoint("127.0.0.1", port, [build_request(url, b) for b in bodies]))
        result = await run_load(endpoints, concurrency=3, seconds=0.3, warmup=0)
        missing = Endpoint("127.0.0.1", endpoints[0].port, [b"GET /nope HTTP/1.1\r\n\r\n"])
        refused = await run_load([missing], concurrency=1, seconds=0.05, warmup=0)
    finally:
        for server in servers:
            server.close()
    assert result.errors == 0
    counts = [sum(a.asked.values()) for a in answers]
    assert sum(counts) == len(result.latencies) > 100
    assert abs(counts[0] - counts[1]) <= 3  # each worker alternates replicas
    for one in answers:  # and, on each replica, streamed and plain bodies
        assert abs(one.asked["plain"] - one.asked["stream"]) <= 3
    assert refused.errors == refused.statuses[404] > 0
    assert not refused.latencies


def _memory(samples: list[tuple[float, float]]) -> soak.Memory:
    memory = soak.Memory(pid=1, before=50 * MIB)
    memory.samples = [(elapsed, int(mib * MIB)) for elapsed, mib in samples]
    return memory


def test_soak_memory_verdict_counts_growth_after_the_warm_up_only() -> None:
    warming = _memory([(1, 60), (5, 100), (10, 120), (15, 110)])
    row = soak._memory_row("gateway 1", warming, warmup=5, bound=32 * MIB)
    assert row.passed is True
    assert row.details["growth_bytes"] == 10 * MIB
    assert row.details["max_bytes"] == 120 * MIB
    assert "start 100.0, max 120.0, end 110.0 MiB: growth +10.0 MiB" in row.measured
    leaking = _memory([(1, 60), (5, 100), (10, 120), (15, 140)])
    assert soak._memory_row("gateway 1", leaking, warmup=5, bound=32 * MIB).passed is False


def test_soak_metering_verdict_needs_a_record_per_answer_and_an_exact_balance() -> None:
    credit = 1000 * 10**9
    exact = soak.Metering(
        records=10, charged_nanos=7, credit_nanos=credit, balance_nanos=credit - 7
    )
    assert soak._metering_row(10, exact).passed is True
    assert soak._metering_row(11, exact).passed is False
    off = soak.Metering(10, charged_nanos=7, credit_nanos=credit, balance_nanos=credit)
    assert soak._metering_row(10, off).passed is False


def test_soak_seconds_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run.main(["--only", "soak", "--soak-seconds", "0"])
    assert exited.value.code == 2
    assert "--soak-seconds must be above 0" in capsys.readouterr().err


@pytest.mark.slow
def test_load_and_soak_run_tiny_through_the_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = dataclasses.replace(
        run.QUICK, load_seconds=0.2, load_rounds=1, soak_warmup=1.0, soak_sample_every=1.0
    )
    monkeypatch.setattr(run, "QUICK", tiny)
    monkeypatch.setattr(replicas, "IN_FLIGHT", (1, 4))
    monkeypatch.setattr(replicas, "UPSTREAMS", {"5 ms": 0.005})
    output = tmp_path / "results.json"
    argv = ["--quick", "--only", "load", "soak", "--soak-seconds", "2", "--json", str(output)]
    assert run.main(argv) == 0
    printed = capsys.readouterr().out
    assert "load, 5 ms upstream,  4 in flight, 2 gateways" in printed
    assert "2 gateway replicas add no CPU here" in printed
    assert "| 5 ms | 4 | " in printed  # the Markdown matrix of the load rows
    results = {row["name"]: row for row in json.loads(output.read_text())["results"]}
    for in_flight in (1, 4):
        for mode in ("1 gateway", "2 gateways"):
            row = results[f"load, 5 ms upstream, {in_flight:>2} in flight, {mode}"]
            assert 0 < row["ratio"] < 2
            assert row["details"]["latency_ms"]["direct"]["p50"] >= 5  # the service time
    processes = ("gateway 1", "gateway 2", "responder", "load client (bench)")
    for name in processes:
        assert results[f"soak RSS, {name}"]["result"] == "PASS"
        assert len(results[f"soak RSS, {name}"]["details"]["samples"]) >= 3
    assert results["soak answers"]["details"]["served"] > 0
    assert results["soak answers"]["result"] == "PASS"
    assert results["soak metering"]["result"] == "PASS"
