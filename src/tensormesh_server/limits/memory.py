"""The in-process limiter (one gateway process, no Redis)."""

from __future__ import annotations

import time
from collections.abc import Callable

from .base import Decision, KeyLimits, decide, window_of

MAX_TRACKED_KEYS = 100_000


class InMemoryRateLimiter:
    """Fixed one-minute windows kept in a dict: key id -> (window, requests, tokens)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int, int]] = {}

    def _current(self, key_id: str) -> tuple[int, int, int, float]:
        window, left = window_of(self._clock())
        seen = self._windows.get(key_id)
        if seen is None or seen[0] != window:
            return window, 0, 0, left
        return window, seen[1], seen[2], left

    async def acquire(self, key_id: str, limits: KeyLimits) -> Decision:
        """Count one request when it fits the window."""
        window, requests, tokens, left = self._current(key_id)
        allowed = decide(limits, requests, tokens, left)
        if allowed:
            requests += 1
            if len(self._windows) >= MAX_TRACKED_KEYS:
                self._windows.clear()
            self._windows[key_id] = (window, requests, tokens)
        return Decision(allowed, limits, requests, tokens, left)

    async def add_tokens(self, key_id: str, limits: KeyLimits, tokens: int) -> None:
        """Add metered tokens to the key's current window."""
        if tokens <= 0:
            return
        window, requests, counted, _ = self._current(key_id)
        self._windows[key_id] = (window, requests, counted + tokens)

    async def aclose(self) -> None:
        """Nothing to release."""
