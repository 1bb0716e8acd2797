"""The Redis limiter against the real Redis: a window shared by replicas, failing open."""

from __future__ import annotations

import logging

import pytest

from tensormesh_server.limits import KeyLimits
from tensormesh_server.limits.redis_limiter import RedisRateLimiter

from .conftest import REDIS_URL, FakeClock


async def test_two_limiters_share_one_window(redis_prefix: str, clock: FakeClock) -> None:
    replicas = [RedisRateLimiter(REDIS_URL, prefix=redis_prefix, clock=clock) for _ in range(2)]
    limits = KeyLimits(requests_per_minute=5)
    try:
        allowed = [(await replicas[i % 2].acquire("key-1", limits)).allowed for i in range(8)]
        assert allowed == [True] * 5 + [False] * 3
        other = await replicas[1].acquire("key-2", limits)
        assert other.allowed
        assert other.headers()["x-ratelimit-remaining-requests"] == "4"
        refused = await replicas[0].acquire("key-1", limits)
        assert (refused.requests, refused.retry_after) == (5, 40)
        clock.advance(40)
        assert (await replicas[1].acquire("key-1", limits)).allowed
    finally:
        for replica in replicas:
            await replica.aclose()


async def test_tokens_added_by_one_replica_limit_the_other(
    redis_prefix: str, clock: FakeClock
) -> None:
    first = RedisRateLimiter(REDIS_URL, prefix=redis_prefix, clock=clock)
    second = RedisRateLimiter(REDIS_URL, prefix=redis_prefix, clock=clock)
    limits = KeyLimits(tokens_per_minute=100)
    try:
        assert (await first.acquire("k", limits)).allowed
        await first.add_tokens("k", limits, 99)
        decision = await second.acquire("k", limits)
        assert decision.allowed
        assert decision.headers()["x-ratelimit-remaining-tokens"] == "1"
        await second.add_tokens("k", limits, 30)
        assert not (await first.acquire("k", limits)).allowed
    finally:
        await first.aclose()
        await second.aclose()


async def test_unreachable_redis_fails_open_with_a_warning(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", clock=clock, timeout=0.2)
    limits = KeyLimits(requests_per_minute=1, tokens_per_minute=1)
    try:
        with caplog.at_level(logging.WARNING, logger="tensormesh_server"):
            decisions = [await limiter.acquire("k", limits) for _ in range(3)]
            await limiter.add_tokens("k", limits, 10)
        assert all(d.allowed for d in decisions)
        warnings = [
            r.getMessage() for r in caplog.records if "Redis is unreachable" in r.getMessage()
        ]
        assert len(warnings) == 1  # logged once, not per request
    finally:
        await limiter.aclose()
