"""The gateway's meter: request records wait in memory and a background task writes them in
batches, one database transaction per batch, never on a request's path.

A batch is written every `flush_seconds` (or as soon as `batch_size` records wait); a failed
write keeps its records for the next attempt. `aclose()` (on SIGTERM) writes everything left,
so a graceful shutdown loses nothing; a crash loses at most the last `flush_seconds` of records,
and the run's heartbeat (`runs`) lets another gateway find and report that loss.

At most `max_pending` records wait: beyond that (the database away for long) `full` is true and
the gateway refuses new inference requests (503) rather than serve them unmetered; records with
tokens are always kept, records of requests that used none (refusals) are not while full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any, Protocol

from tensormesh_server.store.database import error_reason

from .record import UsageRecord
from .runs import CHECK_SECONDS, LostRun

logger = logging.getLogger("tensormesh_server")

CLOSE_ATTEMPTS = 5
MAX_PENDING = 100_000


class Sink(Protocol):
    """Where batches go (called in a worker thread)."""

    def write(self, records: list[UsageRecord]) -> None:
        """Store `records` durably, all or nothing."""
        ...


class Runs(Protocol):
    """The record of this gateway's run (called in a worker thread): see `runs.GatewayRuns`."""

    def alive(self) -> None:
        """The heartbeat of a tick with nothing to write."""
        ...

    def stopped(self) -> None:
        """Mark the run stopped cleanly, after the final write."""
        ...

    def find_lost(self, healthy_for: float) -> list[LostRun]:
        """Mark and return other runs that stopped without their last write."""
        ...


class Meter:
    """Collects records (`add`, O(1)) and writes them in the background."""

    def __init__(
        self,
        sink: Sink,
        *,
        flush_seconds: float = 1.0,
        batch_size: int = 500,
        max_pending: int = MAX_PENDING,
        runs: Runs | None = None,
    ) -> None:
        self.sink = sink
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.runs = runs
        self.written = 0
        self.skipped = 0
        """Records of requests without tokens not kept while the backlog was full."""
        self._pending: list[UsageRecord] = []
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._later: set[asyncio.Task[None]] = set()
        self._closing = False
        self._was_full = False
        self._healthy_since: float | None = None
        self._failing_since: float | None = None
        self._next_check = 0.0

    @property
    def pending(self) -> int:
        """Records not written yet."""
        return len(self._pending)

    @property
    def full(self) -> bool:
        """True when `max_pending` records wait (new requests are to be refused)."""
        full = len(self._pending) >= self.max_pending
        if full != self._was_full:
            self._was_full = full
            if full:
                logger.warning(
                    "metering: %d records wait to be written (TENSORMESH_METERING_MAX_PENDING): "
                    "new inference requests are refused with 503 until they are",
                    len(self._pending),
                )
            else:
                logger.info("metering: the backlog is written; inference requests are served")
        return full

    def start(self) -> None:
        """Start the background writer (in the running event loop)."""
        if self._task is None:
            self._wake = asyncio.Event()
            self._lock = asyncio.Lock()
            self._task = asyncio.get_running_loop().create_task(self._run())

    def add(self, record: UsageRecord) -> None:
        """Remember one request (no I/O)."""
        if not record.has_tokens and self.full:
            self.skipped += 1  # a refusal while the backlog is full: nothing to charge
            return
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
        """Write what waits now, in batches of at most `batch_size`; returns how many records
        were written (the ones not written wait for the next attempt)."""
        lock = self._lock or asyncio.Lock()
        async with lock:
            waiting, self._pending = self._pending, []
            done = 0
            try:
                while done < len(waiting):
                    batch = waiting[done : done + self.batch_size]
                    await asyncio.to_thread(self.sink.write, batch)
                    done += len(batch)
                    self.written += len(batch)
            except BaseException:
                self._pending[:0] = waiting[done:]
                raise
            return done

    async def _tick(self) -> None:
        """Write what waits (or beat the heartbeat), and now and then look for dead runs."""
        try:
            if not await self.flush() and self.runs is not None:
                await asyncio.to_thread(self.runs.alive)
        except Exception as exc:  # the database may be away for a moment: keep and retry
            if self._failing_since is None:  # once per outage, not once per tick
                self._failing_since = time.monotonic()
                logger.warning(
                    "metering: could not write %d record(s): %s; keeping them in memory until "
                    "the database is back",
                    self.pending,
                    error_reason(exc),
                )
            self._healthy_since = None
            return
        now = time.monotonic()
        if self._failing_since is not None:
            logger.info(
                "metering: the database is back after %.1f s; the records kept are written",
                now - self._failing_since,
            )
            self._failing_since = None
        if self._healthy_since is None:
            self._healthy_since = now
        if self.runs is None or now < self._next_check:
            return
        self._next_check = now + CHECK_SECONDS
        try:
            lost = await asyncio.to_thread(self.runs.find_lost, now - self._healthy_since)
        except Exception as exc:
            logger.warning("metering: could not look for stopped gateways: %s", error_reason(exc))
            return
        for run in lost:
            logger.warning("%s", run.message())

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            began = time.monotonic()
            await self._tick()
            if self._closing:
                return
            # Ticks start every flush_seconds (the write's own time does not add to the window).
            wait = max(0.0, began + self.flush_seconds - time.monotonic())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()

    async def aclose(self) -> None:
        """Stop the writer, write every record left (retrying a few times) and mark the run
        stopped cleanly (left unmarked when records could not be written: it is reported)."""
        self._closing = True
        started = self._task is not None
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
                break
            except Exception as exc:
                logger.warning("metering: final write failed: %s", error_reason(exc))
                await asyncio.sleep(0.2 * (attempt + 1))
        else:
            logger.error("metering: %d request record(s) could not be written", self.pending)
            return
        if started and self.runs is not None:
            try:
                await asyncio.to_thread(self.runs.stopped)
            except Exception as exc:
                logger.warning("metering: could not mark this run stopped: %s", error_reason(exc))
