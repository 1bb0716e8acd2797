"""The Redis limiter: one window shared by every gateway replica, checked by one Lua script.

Windows are fixed minutes of the replicas' wall clocks (keep them in sync with NTP). When Redis
cannot be reached the request is allowed (fail open) and a warning is logged at most every
`warn_every` seconds: a limiter outage must never turn into failed inference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .base import WINDOW_SECONDS, Decision, KeyLimits, window_of
from .redis_client import DEFAULT_TIMEOUT, REDIS_ERRORS, OutageWarning, redis_client

# KEYS: requests counter, tokens counter. ARGV: rpm, tpm (-1 = unlimited), expiry seconds.
_ACQUIRE = """
local requests = tonumber(redis.call('GET', KEYS[1]) or '0')
local tokens = tonumber(redis.call('GET', KEYS[2]) or '0')
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
if (rpm >= 0 and requests >= rpm) or (tpm >= 0 and tokens >= tpm) then
  return {0, requests, tokens}
end
requests = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, requests, tokens}
"""

_EXPIRY = 2 * WINDOW_SECONDS


class RedisRateLimiter:
    """Counters `<prefix>{<key id>:<window>}:requests|tokens` that expire after two minutes."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tm:rl:",
        clock: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT,
        warn_every: float = 10.0,
    ) -> None:
        self.prefix = prefix
        self._clock = clock
        self._fail_open = OutageWarning(
            "rate limiter", "allowing requests without limits", warn_every
        )
        self._redis = redis_client(url, timeout)
        self._script: Any = self._redis.register_script(_ACQUIRE)

    def _keys(self, key_id: str, window: int) -> tuple[str, str]:
        base = f"{self.prefix}{{{key_id}:{window}}}:"
        return base + "requests", base + "tokens"

    async def acquire(self, key_id: str, limits: KeyLimits) -> Decision:
        """Count one request in the shared window when it fits (fails open)."""
        window, left = window_of(self._clock())
        rpm = limits.requests_per_minute
        tpm = limits.tokens_per_minute
        args = (-1 if rpm is None else rpm, -1 if tpm is None else tpm, _EXPIRY)
        try:
            allowed, requests, tokens = await self._script(
                keys=self._keys(key_id, window), args=args
            )
        except REDIS_ERRORS as exc:
            self._fail_open(exc)
            return Decision(True, limits, 0, 0, left)
        return Decision(bool(allowed), limits, int(requests), int(tokens), left)

    async def add_tokens(self, key_id: str, limits: KeyLimits, tokens: int) -> None:
        """Add metered tokens to the key's shared window (fails open)."""
        if tokens <= 0 or limits.tokens_per_minute is None:
            return
        window, _ = window_of(self._clock())
        key = self._keys(key_id, window)[1]
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrby(key, tokens)
                pipe.expire(key, _EXPIRY)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            self._fail_open(exc)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
