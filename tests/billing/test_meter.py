"""The meter writes batches in the background, keeps a failed batch for the next attempt and
writes everything on close; it beats its run's heartbeat, reports dead runs and marks its run
stopped after the final write; a full backlog refuses new requests with 503 without dropping
anything pending. The balance gate refuses users without balance from its cache."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import httpx2
import pytest

from tensormesh_server.app import ServerlessApp
from tensormesh_server.auth import StaticKeyVerifier
from tensormesh_server.engines import build_engines
from tensormesh_server.errors import APIError
from tensormesh_server.metering import (
    BalanceGate,
    Meter,
    Metering,
    MeteringSettings,
    UsageRecord,
)
from tensormesh_server.metering import meter as meter_module
from tensormesh_server.metering.runs import LostRun
from tensormesh_server.models_config import ModelSpec, SettingsError
from tensormesh_server.testing.fake_upstream import FakeUpstream


def record(n: int, tokens: bool = True) -> UsageRecord:
    now = datetime.now(timezone.utc)
    return UsageRecord(
        request_id=f"req-{n}",
        key_id="k",
        user_id="u",
        model="m",
        endpoint="chat/completions",
        status_code=200,
        started_at=now,
        finished_at=now,
        latency_ms=1,
        prompt_tokens=3 if tokens else 0,
        completion_tokens=2 if tokens else 0,
    )


class ListSink:
    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[UsageRecord]] = []
        self.failures = failures

    def write(self, records: list[UsageRecord]) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("database away")
        self.batches.append(list(records))


class ListRuns:
    """The calls a meter makes on its run's record."""

    def __init__(self, lost: list[LostRun] | None = None) -> None:
        self.beats = 0
        self.stops = 0
        self.checks: list[float] = []
        self.lost = lost or []

    def alive(self) -> None:
        self.beats += 1

    def stopped(self) -> None:
        self.stops += 1

    def find_lost(self, healthy_for: float) -> list[LostRun]:
        self.checks.append(healthy_for)
        lost, self.lost = self.lost, []
        return lost


async def test_records_are_written_in_batches_within_the_flush_interval() -> None:
    sink = ListSink()
    meter = Meter(sink, flush_seconds=0.05, batch_size=1000)
    meter.start()
    for n in range(10):
        meter.add(record(n))
    assert sink.batches == []  # adding never writes
    await asyncio.sleep(0.3)
    assert [r.request_id for batch in sink.batches for r in batch] == [
        f"req-{n}" for n in range(10)
    ]
    assert len(sink.batches) == 1
    await meter.aclose()


async def test_a_full_batch_is_written_at_once() -> None:
    sink = ListSink()
    meter = Meter(sink, flush_seconds=60, batch_size=5)
    meter.start()
    for n in range(5):
        meter.add(record(n))
    await asyncio.sleep(0.2)
    assert len(sink.batches) == 1
    await meter.aclose()


async def test_a_failed_write_is_retried_and_nothing_is_lost() -> None:
    sink = ListSink(failures=2)
    meter = Meter(sink, flush_seconds=0.02)
    meter.start()
    meter.add(record(1))
    await asyncio.sleep(0.1)
    meter.add(record(2))
    await asyncio.sleep(0.2)
    await meter.aclose()
    written = [r.request_id for batch in sink.batches for r in batch]
    assert sorted(written) == ["req-1", "req-2"]
    assert meter.pending == 0


async def test_close_writes_what_waits_and_what_is_being_completed() -> None:
    sink = ListSink()
    meter = Meter(sink, flush_seconds=3600)
    meter.start()
    meter.add(record(1))

    async def later() -> UsageRecord:
        await asyncio.sleep(0.05)
        return record(2)

    meter.add_later(later())
    await meter.aclose()
    assert sorted(r.request_id for batch in sink.batches for r in batch) == ["req-1", "req-2"]


async def test_the_run_beats_when_idle_reports_dead_runs_and_stops_after_the_last_write(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(meter_module, "CHECK_SECONDS", 0.05)
    dead = LostRun("run-1", "box", 42, 1.0, datetime(2026, 1, 1, tzinfo=timezone.utc))
    runs = ListRuns([dead])
    sink = ListSink()
    meter = Meter(sink, flush_seconds=0.02, runs=runs)
    with caplog.at_level(logging.WARNING, logger="tensormesh_server"):
        meter.start()
        await asyncio.sleep(0.01)
        assert runs.beats == 1  # at once: the run's row exists from the start
        await asyncio.sleep(0.2)
        meter.add(record(1))
        await asyncio.sleep(0.1)
        await meter.aclose()
    assert runs.beats >= 5
    assert len(runs.checks) >= 2
    assert runs.checks[0] == 0  # just started: nobody else is judged yet
    assert runs.checks[-1] > 0.1
    assert runs.stops == 1
    assert [r.request_id for batch in sink.batches for r in batch] == ["req-1"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "gateway run run-1 (host box, pid 42) stopped without writing its last records: "
        "requests it finished after 2026-01-01T00:00:00.000+00:00 (at most 1 s of traffic) "
        "are not metered"
    ]


async def test_a_run_whose_last_write_failed_is_not_marked_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(meter_module, "CLOSE_ATTEMPTS", 1)
    runs = ListRuns()
    meter = Meter(ListSink(failures=100), flush_seconds=3600, runs=runs)
    meter.start()
    meter.add(record(1))
    await meter.aclose()
    assert meter.pending == 1
    assert runs.stops == 0  # left running: other gateways report it as stopped unwritten


async def test_a_full_backlog_refuses_new_requests_and_drops_nothing() -> None:
    sink = ListSink(failures=1000)
    meter = Meter(sink, flush_seconds=1.0, max_pending=3)
    metering = Metering(meter, BalanceGate(lambda users: {}, enforce=False))
    for n in range(3):
        await metering.admit("u")
        meter.add(record(n))
    with pytest.raises(OSError, match="database away"):
        await meter.flush()
    with pytest.raises(APIError) as refused:
        await metering.admit("u")
    error = refused.value
    assert error.status == 503
    assert error.body()["error"]["type"] == "service_unavailable"
    assert error.body()["error"]["code"] == "metering_backlog"
    assert error.headers == {"retry-after": "5"}  # 5 flush windows
    meter.add(record(3, tokens=False))  # the refusal's own record: nothing to charge
    meter.add(record(4))  # a request admitted earlier that finishes now: kept
    assert meter.pending == 4
    assert meter.skipped == 1
    sink.failures = 0
    assert await meter.flush() == 4
    await metering.admit("u")
    meter.add(record(5, tokens=False))
    assert meter.pending == 1
    assert [r.request_id for batch in sink.batches for r in batch] == [
        "req-0",
        "req-1",
        "req-2",
        "req-4",
    ]


async def test_a_large_backlog_is_written_in_batches() -> None:
    sink = ListSink()
    meter = Meter(sink, batch_size=4)
    for n in range(10):
        meter.add(record(n))
    assert await meter.flush() == 10
    assert [len(batch) for batch in sink.batches] == [4, 4, 2]
    sink.failures = 1
    for n in range(6):
        meter.add(record(n))
    with pytest.raises(OSError, match="database away"):
        await meter.flush()
    assert meter.pending == 6


async def test_the_gateway_answers_503_metering_backlog_while_the_backlog_is_full() -> None:
    upstream = httpx2.ASGITransport(app=FakeUpstream(name="unit"))
    engines = build_engines(
        [ModelSpec(id="fake", engine="openai", upstream_urls=("http://fake",))], upstream
    )
    sink = ListSink(failures=1000)
    meter = Meter(sink, flush_seconds=0.5, max_pending=2)
    metering = Metering(meter, BalanceGate(lambda users: {}, enforce=False))
    app = ServerlessApp(engines, StaticKeyVerifier(["tm_sk_k"]), "0", metering=metering)
    chat = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app),
        base_url="http://gateway",
        headers={"authorization": "Bearer tm_sk_k"},
    ) as http:
        for _ in range(2):
            assert (await http.post("/v1/chat/completions", json=chat)).status_code == 200
        refused = await http.post("/v1/chat/completions", json=chat)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "3"
        assert refused.json()["error"]["code"] == "metering_backlog"
        assert refused.json()["error"]["type"] == "service_unavailable"
        assert meter.pending == 2
        sink.failures = 0
        assert await meter.flush() == 2
        assert (await http.post("/v1/chat/completions", json=chat)).status_code == 200
    assert meter.pending == 1


async def test_balance_gate_refuses_an_empty_balance_and_follows_changes() -> None:
    balances = {"rich": 5, "poor": 0}
    reads: list[list[str]] = []

    def fetch(users: list[str]) -> dict[str, int]:
        reads.append(list(users))
        return {u: balances[u] for u in users if u in balances}

    gate = BalanceGate(fetch, refresh_seconds=0.05)
    await gate.check("rich")
    await gate.check("rich")
    assert reads == [["rich"]]  # cached after the first lookup
    with pytest.raises(APIError) as refused:
        await gate.check("poor")
    assert refused.value.status == 402
    assert refused.value.body()["error"]["code"] == "insufficient_quota"
    with pytest.raises(APIError):
        await gate.check("nobody")  # no balance row: nothing to spend
    await gate.check(None)  # static operator keys are not charged
    balances["poor"] = 10
    balances["rich"] = -1
    await asyncio.sleep(0.2)
    await gate.check("poor")
    with pytest.raises(APIError):
        await gate.check("rich")
    await gate.aclose()


async def test_balance_gate_can_be_switched_off_and_lets_through_when_the_db_fails() -> None:
    def broken(_users: list[str]) -> dict[str, int]:
        raise OSError("down")

    await BalanceGate(lambda users: {}, enforce=False).check("poor")
    gate = BalanceGate(broken)
    await gate.check("someone")
    await gate.aclose()


def test_settings_from_the_environment() -> None:
    assert MeteringSettings.from_env({}) == MeteringSettings()
    settings = MeteringSettings.from_env(
        {"TENSORMESH_METERING_FLUSH_SECONDS": "0.5", "TENSORMESH_BILLING_ENFORCE": "0"}
    )
    assert settings.flush_seconds == 0.5
    assert settings.enforce is False
    assert MeteringSettings().max_pending == 100_000
    assert MeteringSettings.from_env({"TENSORMESH_METERING_MAX_PENDING": "50"}).max_pending == 50
    for bad in (
        {"TENSORMESH_METERING_FLUSH_SECONDS": "soon"},
        {"TENSORMESH_BILLING_ENFORCE": "x"},
        {"TENSORMESH_METERING_MAX_PENDING": "0"},
    ):
        with pytest.raises(SettingsError):
            MeteringSettings.from_env(bad)
