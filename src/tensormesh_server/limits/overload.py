"""Overload protection per engine: bounded requests in flight plus a bounded wait queue."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tensormesh_server.errors import APIError

OVERLOADED_RETRY_AFTER = 1


def overloaded_error() -> APIError:
    """The 429 for a request that finds the engine's queue full."""
    return APIError(
        429,
        "Server is overloaded; try again shortly.",
        type="rate_limit_error",
        code="server_overloaded",
        headers={"retry-after": str(OVERLOADED_RETRY_AFTER)},
    )


class EngineGate:
    """At most `max_in_flight` requests run; at most `max_queue` wait; the rest get a 429."""

    def __init__(self, max_in_flight: int, max_queue: int) -> None:
        if max_in_flight < 1 or max_queue < 0:
            raise ValueError("max_in_flight must be >= 1 and max_queue >= 0")
        self.max_in_flight = max_in_flight
        self.max_queue = max_queue
        self._slots = asyncio.Semaphore(max_in_flight)
        self.admitted = 0
        """Requests running or waiting."""

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body of the `async with` (429 when the queue is full)."""
        if self.admitted >= self.max_in_flight + self.max_queue:
            raise overloaded_error()
        self.admitted += 1
        try:
            async with self._slots:
                yield
        finally:
            self.admitted -= 1
