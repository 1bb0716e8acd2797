"""The limiter interface: a fixed one-minute window of requests and tokens per key."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from tensormesh_server.errors import APIError

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class KeyLimits:
    """The limits set on a key; None means unlimited."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None

    @property
    def limited(self) -> bool:
        """True when at least one limit is set."""
        return self.requests_per_minute is not None or self.tokens_per_minute is not None


UNLIMITED = KeyLimits()


@dataclass(frozen=True)
class Decision:
    """The answer for one request: allowed or not, and the window's state for the headers."""

    allowed: bool
    limits: KeyLimits
    requests: int
    """Requests counted in the window (including this one when allowed)."""
    tokens: int
    """Tokens counted in the window."""
    retry_after: float
    """Seconds until the window frees."""

    def headers(self) -> dict[str, str]:
        """The `x-ratelimit-*` headers (only for the limits that are set)."""
        headers: dict[str, str] = {}
        rpm, tpm = self.limits.requests_per_minute, self.limits.tokens_per_minute
        if rpm is not None:
            headers["x-ratelimit-limit-requests"] = str(rpm)
            headers["x-ratelimit-remaining-requests"] = str(max(rpm - self.requests, 0))
        if tpm is not None:
            headers["x-ratelimit-limit-tokens"] = str(tpm)
            headers["x-ratelimit-remaining-tokens"] = str(max(tpm - self.tokens, 0))
        return headers


def window_of(now: float) -> tuple[int, float]:
    """The window number of `now` and the seconds until it ends."""
    window = int(now // WINDOW_SECONDS)
    return window, (window + 1) * WINDOW_SECONDS - now


def decide(limits: KeyLimits, requests: int, tokens: int, retry_after: float) -> bool:
    """True when one more request fits the window (`requests` counted before it)."""
    rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
    return (rpm is None or requests < rpm) and (tpm is None or tokens < tpm)


def rate_limit_error(decision: Decision) -> APIError:
    """The 429 for a request over its key's limit (OpenAI error shape, Retry-After)."""
    headers = decision.headers()
    headers["retry-after"] = str(max(1, math.ceil(decision.retry_after)))
    rpm = decision.limits.requests_per_minute
    if rpm is not None and decision.requests >= rpm:
        what = f"requests per minute (limit {rpm})"
    else:
        what = f"tokens per minute (limit {decision.limits.tokens_per_minute})"
    return APIError(
        429,
        f"Rate limit reached for this API key on {what}; try again in {headers['retry-after']} s.",
        type="rate_limit_error",
        code="rate_limit_exceeded",
        headers=headers,
    )


class RateLimiter(Protocol):
    """Counts requests and tokens per key in a one-minute window."""

    async def acquire(self, key_id: str, limits: KeyLimits) -> Decision:
        """Count one request when it fits the window; `allowed` says whether it did."""
        ...

    async def add_tokens(self, key_id: str, limits: KeyLimits, tokens: int) -> None:
        """Add a finished request's metered tokens to the window."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
