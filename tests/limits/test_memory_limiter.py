"""The in-process limiter and the 429 it leads to, on a fake clock."""

from __future__ import annotations

from tensormesh_server.limits import InMemoryRateLimiter, KeyLimits, rate_limit_error

from .conftest import FakeClock


async def test_requests_per_minute_allow_exactly_the_limit(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock)
    limits = KeyLimits(requests_per_minute=3)
    decisions = [await limiter.acquire("k", limits) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.headers()["x-ratelimit-remaining-requests"] for d in decisions] == [
        "2",
        "1",
        "0",
        "0",
        "0",
    ]
    assert decisions[-1].retry_after == 40  # the window started 20 s ago


async def test_the_next_window_frees_the_key(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock)
    limits = KeyLimits(requests_per_minute=1)
    assert (await limiter.acquire("k", limits)).allowed
    assert not (await limiter.acquire("k", limits)).allowed
    clock.advance(40)
    assert (await limiter.acquire("k", limits)).allowed


async def test_keys_have_separate_windows(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock)
    limits = KeyLimits(requests_per_minute=1)
    assert (await limiter.acquire("a", limits)).allowed
    assert (await limiter.acquire("b", limits)).allowed
    assert not (await limiter.acquire("a", limits)).allowed


async def test_tokens_refuse_new_requests_once_the_window_is_spent(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock)
    limits = KeyLimits(tokens_per_minute=100)
    first = await limiter.acquire("k", limits)
    assert first.allowed
    assert first.headers() == {
        "x-ratelimit-limit-tokens": "100",
        "x-ratelimit-remaining-tokens": "100",
    }
    await limiter.add_tokens("k", limits, 60)
    second = await limiter.acquire("k", limits)
    assert second.allowed
    assert second.headers()["x-ratelimit-remaining-tokens"] == "40"
    await limiter.add_tokens("k", limits, 60)  # over the limit now: the next one is refused
    third = await limiter.acquire("k", limits)
    assert not third.allowed
    assert third.tokens == 120
    clock.advance(60)
    assert (await limiter.acquire("k", limits)).allowed


async def test_rate_limit_error_has_the_openai_shape_and_headers(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock)
    limits = KeyLimits(requests_per_minute=1, tokens_per_minute=50)
    await limiter.acquire("k", limits)
    clock.advance(15.5)
    error = rate_limit_error(await limiter.acquire("k", limits))
    assert error.status == 429
    assert error.body()["error"]["type"] == "rate_limit_error"
    assert error.body()["error"]["code"] == "rate_limit_exceeded"
    assert "requests per minute" in error.message
    assert error.headers == {
        "retry-after": "25",
        "x-ratelimit-limit-requests": "1",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-limit-tokens": "50",
        "x-ratelimit-remaining-tokens": "50",
    }
