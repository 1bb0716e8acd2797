"""Fixtures of the limits tests: a fake clock and the test Redis (unique key prefix per run)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest

from tests.controlplane import conftest as controlplane

REDIS_URL = os.environ.get("TENSORMESH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class FakeClock:
    """Wall-clock seconds that move only when told to."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A clock 20 s after the start of a one-minute window."""
    return FakeClock(1_800_000_000.0 - 1_800_000_000.0 % 60 + 20)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test on the test Redis; its keys are deleted afterwards."""
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        pytest.skip(f"Redis at {REDIS_URL} unavailable: {exc}")
    prefix = f"tm:test:{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


postgres = controlplane.postgres
