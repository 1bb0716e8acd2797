"""Failed attempts (sign-ins, login-code exchanges, login starts) counted in Redis, so that every
control-plane process shares one allowance and a restart does not reset it.

Each key is a sorted set of failure times (wall clock: keep the processes' clocks in sync with
NTP) that expires with its window. When Redis cannot be reached, the counts of this process take
over (the same limits, per process) and a warning is logged at most every `warn_every` seconds.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from tensormesh_server.security.rate_limit import RateLimiter

from .redis_client import REDIS_ERRORS, OutageWarning

# KEYS: the failures of one key. ARGV: the cutoff (failures at or before it are forgotten), the
# limit. Returns the oldest failure's time when the limit is reached, else nil.
_OLDEST_WHEN_FULL = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  return false
end
return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
"""


class RedisAttemptLimiter:
    """`fallback`'s limit and window, with the failures kept in Redis under `prefix` (keys are
    hashed: emails and addresses are not stored in clear)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        fallback: RateLimiter,
        *,
        clock: Callable[[], float] = time.time,
        warn_every: float = 10.0,
    ) -> None:
        self.prefix = prefix
        self.fallback = fallback
        self._redis = redis
        self._clock = clock
        self._script: Any = redis.register_script(_OLDEST_WHEN_FULL)
        self._outage = OutageWarning(
            "sign-in limits", "counting failed attempts in this process only", warn_every
        )

    def _key(self, key: str) -> str:
        return self.prefix + hashlib.sha256(key.encode()).hexdigest()[:32]

    async def retry_after(self, key: str) -> int | None:
        """Seconds to wait before `key` may try again, or None when it may try now."""
        now = self._clock()
        try:
            oldest = await self._script(
                keys=[self._key(key)], args=[now - self.fallback.window, self.fallback.limit]
            )
        except REDIS_ERRORS as exc:
            self._outage(exc)
            return self.fallback.retry_after(key)
        if oldest is None:
            return None
        return max(1, math.ceil(float(oldest) + self.fallback.window - now))

    async def fail(self, key: str) -> None:
        """Record one failed attempt of `key`."""
        now = self._clock()
        name = self._key(key)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(name, {f"{now!r}:{secrets.token_hex(4)}": now})
                pipe.zremrangebyscore(name, "-inf", now - self.fallback.window)
                pipe.expire(name, math.ceil(self.fallback.window) + 1)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            self._outage(exc)
            self.fallback.fail(key)

    async def reset(self, key: str) -> None:
        """Forget the failures of `key` (after a success)."""
        self.fallback.reset(key)
        try:
            await self._redis.delete(self._key(key))
        except REDIS_ERRORS as exc:
            self._outage(exc)
