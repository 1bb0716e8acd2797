"""Gateway runs: each gateway process keeps a row in `gateway_runs` with a heartbeat, so that a
gateway that stopped without writing its last records (SIGKILL, a crash, a lost machine) is
found and reported instead of losing them silently.

The heartbeat (`last_write_at`) is updated at every flush tick: with the batch, in its
transaction, or alone when there is nothing to write. A clean shutdown sets `stopped_at` after
the final write. Any gateway looks, every `CHECK_SECONDS`, for runs whose heartbeat is older
than `stale_after(their flush window)` without `stopped_at`; the first to see one marks it
(`lost_at`) and logs a WARNING naming what was lost: the requests that run finished after its
last write, at most its flush window of traffic.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tensormesh_server.controlplane.context import Clock, utc_now
from tensormesh_server.store.billing_models import GatewayRun
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import new_id

logger = logging.getLogger("tensormesh_server")

CHECK_SECONDS = 5.0
"""How often a gateway looks for runs that stopped without their last write."""
STALE_SECONDS = 5.0
STALE_FLUSHES = 5

RunState = Literal["running", "stopped", "lost"]


def stale_after(flush_seconds: float) -> float:
    """Seconds without a heartbeat after which a run counts as stopped without its last
    write: max(5 s, 5 flush windows)."""
    return max(STALE_SECONDS, STALE_FLUSHES * flush_seconds)


def run_state(run: GatewayRun, now: datetime) -> RunState:
    """ "stopped" (cleanly, everything written), "lost" (stopped without its last write:
    reported, or its heartbeat is stale) or "running"."""
    if run.stopped_at is not None:
        return "stopped"
    if run.lost_at is not None:
        return "lost"
    if now - run.last_write_at > timedelta(seconds=stale_after(run.flush_seconds)):
        return "lost"
    return "running"


@dataclass(frozen=True)
class LostRun:
    """A run found stopped without its last write."""

    id: str
    host: str
    pid: int
    flush_seconds: float
    last_write_at: datetime

    def message(self) -> str:
        """The operator's warning."""
        when = self.last_write_at.isoformat(timespec="milliseconds")
        return (
            f"gateway run {self.id} (host {self.host}, pid {self.pid}) stopped without writing "
            f"its last records: requests it finished after {when} (at most "
            f"{self.flush_seconds:g} s of traffic) are not metered"
        )


class GatewayRuns:
    """The row of this gateway process's run, and the search for runs that died."""

    def __init__(self, db: Database, flush_seconds: float, clock: Clock = utc_now) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self.clock = clock
        self.id = new_id()
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self.started_at = clock()

    def touch(self, session: Session, written: int) -> None:
        """The heartbeat, with `written` more records, in `session`'s transaction (creates
        the row on the first call)."""
        now = self.clock()
        done = session.execute(
            update(GatewayRun)
            .where(GatewayRun.id == self.id, GatewayRun.lost_at.is_(None))
            .values(last_write_at=now, records_written=GatewayRun.records_written + written)
        )
        if getattr(done, "rowcount", 1) == 1:
            return
        row = session.get(GatewayRun, self.id)
        if row is None:
            session.add(
                GatewayRun(
                    id=self.id,
                    host=self.host,
                    pid=self.pid,
                    flush_seconds=self.flush_seconds,
                    started_at=self.started_at,
                    last_write_at=now,
                    records_written=written,
                )
            )
            return
        # Reported while its writes were failing for long (the records were kept): not lost.
        row.lost_at = None
        row.last_write_at = now
        row.records_written += written
        logger.warning(
            "metering: this gateway run (%s) was reported as stopped while its writes were "
            "failing; it was not: its records were kept and are written now",
            self.id,
        )

    def alive(self) -> None:
        """The heartbeat alone (a tick with nothing to write)."""
        with self.db.session() as session:
            self.touch(session, 0)

    def stopped(self) -> None:
        """Mark the run stopped cleanly (after its final write)."""
        with self.db.session() as session:
            self.touch(session, 0)
            session.execute(
                update(GatewayRun).where(GatewayRun.id == self.id).values(stopped_at=self.clock())
            )

    def find_lost(self, healthy_for: float) -> list[LostRun]:
        """Mark and return the other runs whose heartbeat is stale. Only runs whose staleness
        limit is within `healthy_for` (how long this gateway's own heartbeats have been
        succeeding) are judged, so that after a database outage nobody is reported for
        heartbeats that could not be written."""
        now = self.clock()
        with self.db.session() as session:
            candidates = session.scalars(
                select(GatewayRun).where(
                    GatewayRun.stopped_at.is_(None),
                    GatewayRun.lost_at.is_(None),
                    GatewayRun.id != self.id,
                )
            ).all()
            session.expunge_all()
        lost: list[LostRun] = []
        for run in candidates:
            limit = stale_after(run.flush_seconds)
            if limit > healthy_for or now - run.last_write_at <= timedelta(seconds=limit):
                continue
            with self.db.session() as session:
                marked = session.execute(
                    update(GatewayRun)
                    .where(
                        GatewayRun.id == run.id,
                        GatewayRun.stopped_at.is_(None),
                        GatewayRun.lost_at.is_(None),
                        GatewayRun.last_write_at == run.last_write_at,
                    )
                    .values(lost_at=now)
                )
            if getattr(marked, "rowcount", 0) == 1:  # another gateway may have been first
                lost.append(
                    LostRun(run.id, run.host, run.pid, run.flush_seconds, run.last_write_at)
                )
        return lost


def recent_runs(db: Database, limit: int) -> Sequence[GatewayRun]:
    """The `limit` most recently started runs, newest first."""
    with db.session() as session:
        runs = session.scalars(
            select(GatewayRun).order_by(GatewayRun.started_at.desc()).limit(limit)
        ).all()
        session.expunge_all()
    return runs
