"""The meter writes batches in the background, keeps a failed batch for the next attempt and
writes everything on close; the balance gate refuses users without balance from its cache."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from tensormesh_server.errors import APIError
from tensormesh_server.metering import BalanceGate, Meter, MeteringSettings, UsageRecord
from tensormesh_server.models_config import SettingsError


def record(n: int) -> UsageRecord:
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
        prompt_tokens=3,
        completion_tokens=2,
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
    for bad in ({"TENSORMESH_METERING_FLUSH_SECONDS": "soon"}, {"TENSORMESH_BILLING_ENFORCE": "x"}):
        with pytest.raises(SettingsError):
            MeteringSettings.from_env(bad)
