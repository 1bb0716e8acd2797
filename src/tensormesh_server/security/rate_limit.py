"""Sliding-window limiters of failed attempts (sign-in form, login-code exchange, login starts).

Each key (for example `email|ip`) may fail `limit` times within `window` seconds; after that
`retry_after` reports how many seconds to wait. `RateLimiter` keeps the counts in this process;
the routes use an `AttemptLimiter`: `LocalAttemptLimiter` over it, or, with Redis configured,
`tensormesh_server.limits.attempts.RedisAttemptLimiter`, shared by every control-plane process.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

MAX_KEYS = 100_000


class RateLimiter:
    """Counts failures per key in a sliding window; thread-safe."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            if len(self._failures) >= MAX_KEYS:
                self._forget_idle(now)
            failures = self._failures[key] = deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
            del self._failures[key]

    def retry_after(self, key: str) -> int | None:
        """Seconds to wait before `key` may try again, or None when it may try now."""
        with self._lock:
            now = self._clock()
            failures = self._recent(key, now)
            if len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + self.window - now))

    def fail(self, key: str) -> None:
        """Record one failed attempt of `key`."""
        with self._lock:
            now = self._clock()
            self._recent(key, now).append(now)

    def reset(self, key: str) -> None:
        """Forget the failures of `key` (after a success)."""
        with self._lock:
            self._failures.pop(key, None)


class AttemptLimiter(Protocol):
    """Failed attempts per key within a window, as the routes use them."""

    async def retry_after(self, key: str) -> int | None:
        """Seconds to wait before `key` may try again, or None when it may try now."""
        ...

    async def fail(self, key: str) -> None:
        """Record one failed attempt of `key`."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the failures of `key` (after a success)."""
        ...


class LocalAttemptLimiter:
    """An `AttemptLimiter` counting in this process only (no Redis configured)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def retry_after(self, key: str) -> int | None:
        """Seconds to wait before `key` may try again, or None when it may try now."""
        return self.limiter.retry_after(key)

    async def fail(self, key: str) -> None:
        """Record one failed attempt of `key`."""
        self.limiter.fail(key)

    async def reset(self, key: str) -> None:
        """Forget the failures of `key` (after a success)."""
        self.limiter.reset(key)
