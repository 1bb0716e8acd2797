"""The per-engine gate: bounded in flight, bounded queue, 429 beyond it."""

from __future__ import annotations

import asyncio

import pytest

from tensormesh_server.errors import APIError
from tensormesh_server.limits import EngineGate
from tensormesh_server.limits.settings import LimitSettings
from tensormesh_server.models_config import SettingsError


async def test_gate_runs_max_in_flight_queues_the_rest_and_refuses_beyond() -> None:
    gate = EngineGate(max_in_flight=2, max_queue=1)
    release = asyncio.Event()
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        async with gate.slot():
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1

    tasks = [asyncio.create_task(work()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert (running, gate.admitted) == (2, 3)
    with pytest.raises(APIError) as refused:
        async with gate.slot():
            pass
    assert refused.value.status == 429
    assert refused.value.message.startswith("Server is overloaded")
    assert refused.value.headers["retry-after"] == "1"
    release.set()
    await asyncio.gather(*tasks)
    assert (peak, gate.admitted) == (2, 0)
    async with gate.slot():  # room again
        assert gate.admitted == 1


async def test_a_cancelled_waiter_gives_its_queue_place_back() -> None:
    gate = EngineGate(max_in_flight=1, max_queue=1)
    release = asyncio.Event()

    async def hold() -> None:
        async with gate.slot():
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    assert gate.admitted == 2
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert gate.admitted == 1
    release.set()
    await holder


def test_settings_defaults_and_overrides() -> None:
    defaults = LimitSettings.from_env({})
    assert defaults.redis_url == ""
    assert (defaults.gate(4).max_in_flight, defaults.gate(4).max_queue) == (8, 256)
    assert (defaults.gate(None).max_in_flight, defaults.gate(None).max_queue) == (64, 256)
    custom = LimitSettings.from_env(
        {"TENSORMESH_ENGINE_MAX_IN_FLIGHT": "2", "TENSORMESH_ENGINE_MAX_QUEUE": "0"}
    )
    assert (custom.gate(4).max_in_flight, custom.gate(4).max_queue) == (2, 0)
    with pytest.raises(SettingsError, match="TENSORMESH_ENGINE_MAX_IN_FLIGHT"):
        LimitSettings.from_env({"TENSORMESH_ENGINE_MAX_IN_FLIGHT": "0"})
    with pytest.raises(SettingsError, match="TENSORMESH_ENGINE_MAX_QUEUE"):
        LimitSettings.from_env({"TENSORMESH_ENGINE_MAX_QUEUE": "many"})
