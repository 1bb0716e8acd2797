"""The gateway's meter: request records wait in memory and a background task writes them in
batches, one database transaction per batch, never on a request's path.

A batch is written every `flush_seconds` (or as soon as `batch_size` records wait); a failed
write keeps its records for the next attempt. `aclose()` (on SIGTERM) writes everything left,
so a graceful shutdown loses nothing; a crash loses at most the last `flush_seconds` of records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from .record import UsageRecord

logger = logging.getLogger("tensormesh_server")

CLOSE_ATTEMPTS = 5


class Sink(Protocol):
    """Where batches go (called in a worker thread)."""

    def write(self, records: list[UsageRecord]) -> None:
        """Store `records` durably, all or nothing."""
        ...


class Meter:
    """Collects records (`add`, O(1)) and writes them in the background."""

    def __init__(self, sink: Sink, *, flush_seconds: float = 1.0, batch_size: int = 500) -> None:
        self.sink = sink
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.written = 0
        self._pending: list[UsageRecord] = []
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._later: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def pending(self) -> int:
        """Records not written yet."""
        return len(self._pending)

    def start(self) -> None:
        """Start the background writer (in the running event loop)."""
        if self._task is None:
            self._wake = asyncio.Event()
            self._lock = asyncio.Lock()
            self._task = asyncio.get_running_loop().create_task(self._run())

    def add(self, record: UsageRecord) -> None:
        """Remember one request (no I/O)."""
        self._pending.append(record)
        if len(self._pending) >= self.batch_size and self._wake is not None:
            self._wake.set()

    def add_later(self, work: Coroutine[Any, Any, UsageRecord]) -> None:
        """Remember the record that `work` completes (awaited before closing)."""
        task = asyncio.get_running_loop().create_task(self._complete(work))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _complete(self, work: Coroutine[Any, Any, UsageRecord]) -> None:
        self.add(await work)

    async def flush(self) -> int:
        """Write what waits now; returns how many records were written."""
        lock = self._lock or asyncio.Lock()
        async with lock:
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                await asyncio.to_thread(self.sink.write, batch)
            except BaseException:
                self._pending[:0] = batch
                raise
            self.written += len(batch)
            return len(batch)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # the database may be away for a moment: keep and retry
                logger.warning(
                    "metering: could not write %d record(s): %s", self.pending, _reason(exc)
                )

    async def aclose(self) -> None:
        """Stop the writer and write every record left (retrying a few times)."""
        self._closing = True
        if self._later:
            await asyncio.wait(set(self._later), timeout=10)
        if self._task is not None:
            assert self._wake is not None
            self._wake.set()
            await self._task
            self._task = None
        for attempt in range(CLOSE_ATTEMPTS):
            try:
                await self.flush()
                return
            except Exception as exc:
                logger.warning("metering: final write failed: %s", _reason(exc))
                await asyncio.sleep(0.2 * (attempt + 1))
        logger.error("metering: %d request record(s) could not be written", self.pending)


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
