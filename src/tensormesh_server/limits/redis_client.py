"""What every Redis-backed limit shares: the client (short timeouts, so a Redis outage never
stalls a request for long) and the warning when Redis cannot be reached (logged at most every
`warn_every` seconds, not once per request)."""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger("tensormesh_server")

REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
"""What a call to an unreachable or failing Redis raises."""
DEFAULT_TIMEOUT = 0.5
"""Seconds to connect, and to wait for an answer."""


def redis_client(url: str, timeout: float = DEFAULT_TIMEOUT) -> aioredis.Redis:
    """An asyncio client of `url` (connections are opened on first use)."""
    return aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


class OutageWarning:
    """Logs `<who>: Redis is unreachable (<error>); <fallback>` at most every `every` seconds."""

    def __init__(self, who: str, fallback: str, every: float = 10.0) -> None:
        self.who = who
        self.fallback = fallback
        self.every = every
        self._warned_at = float("-inf")

    def __call__(self, exc: Exception) -> None:
        """Note one failed call."""
        now = time.monotonic()
        if now - self._warned_at >= self.every:
            self._warned_at = now
            logger.warning(
                "%s: Redis is unreachable (%s); %s", self.who, type(exc).__name__, self.fallback
            )
