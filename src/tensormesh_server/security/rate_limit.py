"""An in-memory sliding-window limiter of failed attempts (sign-in form, login-code exchange).

Each key (for example `email|ip`) may fail `limit` times within `window` seconds; after that
`check` reports how many seconds to wait. One process keeps its own counts (a shared store such
as Redis is the seam for several replicas).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

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
