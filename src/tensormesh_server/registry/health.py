"""Active health checks of an `openai` engine's replicas: a replica that fails GET /health is
taken out of rotation (tried only when no other is left), and put back when it passes again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from tensormesh_server.engines.upstream import Replica, ReplicaPool

CHECK_INTERVAL_SECONDS = 0.5
CHECK_TIMEOUT_SECONDS = 1.0

Transition = Callable[[Replica, bool, str], None]
"""Called with (replica, is_up, reason) when a replica changes state."""


class HealthMonitor:
    """Probes every replica of a pool every `interval` seconds."""

    def __init__(
        self,
        pool: ReplicaPool,
        on_change: Transition,
        *,
        path: str = "/health",
        interval: float = CHECK_INTERVAL_SECONDS,
        timeout: float = CHECK_TIMEOUT_SECONDS,
    ) -> None:
        self.pool = pool
        self.on_change = on_change
        self.path = path
        self.interval = interval
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None

    async def check_once(self) -> None:
        """Probe each replica once and apply the transitions."""
        results = await asyncio.gather(
            *(self.pool.probe(r, self.path, self.timeout) for r in self.pool.replicas)
        )
        for replica, problem in zip(self.pool.replicas, results, strict=True):
            if problem is not None and not replica.down:
                replica.down, replica.reason = True, problem
                self.on_change(replica, False, problem)
            elif problem is None and replica.down:
                replica.down, replica.reason = False, ""
                replica.failed_at = -1e9  # passed a check: no longer tried last
                self.on_change(replica, True, "health check passed")

    def all_down(self) -> bool:
        """True when no replica passes its checks."""
        return all(replica.down for replica in self.pool.replicas)

    def start(self) -> None:
        """Run the checks in the background."""
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self.interval)

    async def aclose(self) -> None:
        """Stop checking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
