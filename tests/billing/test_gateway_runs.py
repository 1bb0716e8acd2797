"""Gateway runs on both backends: the heartbeat is written with each batch (same transaction) or
alone, a clean stop is marked, a run whose heartbeat is stale is reported once (by whichever
gateway sees it first, and only by one whose own heartbeats succeed), a run reported while
alive clears the report; `tm server metering status` lists the runs and names unclean stops."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tensormesh_cli.main import cli
from tensormesh_server.metering.database import DatabaseSink
from tensormesh_server.metering.runs import GatewayRuns, run_state
from tensormesh_server.store.billing_models import GatewayRun, RequestRecord
from tensormesh_server.store.database import Database
from tests.controlplane.helpers import FakeClock

from .conftest import usage


def run_row(db: Database, run: GatewayRuns) -> GatewayRun:
    with db.session() as session:
        row = session.get(GatewayRun, run.id)
        assert row is not None
        session.expunge(row)
    return row


def test_the_heartbeat_goes_with_each_batch_and_a_clean_stop_is_marked(
    db: Database, clock: FakeClock
) -> None:
    run = GatewayRuns(db, 0.5, clock.now)
    sink = DatabaseSink(db, clock.now, run=run)
    run.alive()
    row = run_row(db, run)
    assert (row.records_written, row.last_write_at, row.flush_seconds) == (0, clock.now(), 0.5)
    assert row.pid > 0
    assert row.host
    assert run_state(row, clock.now()) == "running"

    clock.advance(1)
    batch = [usage(None, "alpha", 3, 2, at=clock.now(), request_id=f"r{n}") for n in range(3)]
    sink.write(batch)
    sink.write(batch)  # a retried batch: nothing new, the heartbeat still moves
    clock.advance(1)
    sink.write([])
    row = run_row(db, run)
    assert (row.records_written, row.last_write_at) == (3, clock.now())
    with db.session() as session:
        assert len(session.scalars(select(RequestRecord)).all()) == 3

    clock.advance(1)
    run.stopped()
    row = run_row(db, run)
    assert row.stopped_at == clock.now()
    assert run_state(row, clock.now() + timedelta(hours=1)) == "stopped"


def test_a_stale_run_is_reported_once_and_a_live_one_clears_the_report(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = GatewayRuns(db, 1.0, clock.now)
    other = GatewayRuns(db, 1.0, clock.now)
    slow = GatewayRuns(db, 2.0, clock.now)  # 5 flush windows: stale after 10 s
    for run in (watcher, other, slow):
        run.alive()
    last_write = clock.now()
    clock.advance(6)
    watcher.alive()
    assert watcher.find_lost(healthy_for=3) == []  # not healthy long enough to judge
    (lost,) = watcher.find_lost(healthy_for=60)
    assert (lost.id, lost.pid, lost.flush_seconds, lost.last_write_at) == (
        other.id,
        other.pid,
        1.0,
        last_write,
    )
    assert "stopped without writing its last records" in lost.message()
    assert "(at most 1 s of traffic) are not metered" in lost.message()
    assert GatewayRuns(db, 1.0, clock.now).find_lost(healthy_for=60) == []  # reported once
    assert run_state(run_row(db, other), clock.now()) == "lost"
    assert run_state(run_row(db, slow), clock.now()) == "running"

    clock.advance(5)
    assert [run.id for run in watcher.find_lost(healthy_for=60)] == [slow.id]

    with caplog.at_level(logging.WARNING, logger="tensormesh_server"):
        other.alive()  # it was alive after all (its writes were failing)
    assert "was reported as stopped while its writes were failing" in caplog.text
    row = run_row(db, other)
    assert row.lost_at is None
    assert run_state(row, clock.now()) == "running"


def test_tm_server_metering_status_lists_runs_and_names_unclean_stops(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENSORMESH_DATABASE_URL", db.url)
    empty = CliRunner().invoke(cli, ["server", "metering", "status"])
    assert empty.exit_code == 0, empty.output
    assert "no gateway runs yet" in empty.stdout

    clock = FakeClock(datetime.now(timezone.utc) - timedelta(minutes=1))
    dead = GatewayRuns(db, 1.0, clock.now)
    dead.alive()
    clock.advance(10)
    stopped = GatewayRuns(db, 1.0, clock.now)
    stopped.alive()
    stopped.stopped()
    clock.advance(50)
    running = GatewayRuns(db, 1.0, clock.now)
    DatabaseSink(db, clock.now, run=running).write(
        [usage(None, "alpha", 1, 1, at=clock.now(), request_id="r")]
    )

    listed = CliRunner().invoke(cli, ["--output", "json", "server", "metering", "status"])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["id"], r["state"]) for r in runs] == [
        (running.id, "running"),
        (stopped.id, "stopped"),
        (dead.id, "lost"),
    ]
    assert runs[0]["recordsWritten"] == 1
    assert runs[2]["flushSeconds"] == 1.0
    assert "1 gateway run(s) stopped without writing their last records" in listed.stderr

    text = CliRunner().invoke(cli, ["server", "metering", "status"])
    assert text.exit_code == 0, text.output
    assert "stopped without its last write (up to 1 s not metered)" in text.stdout
    assert "stopped cleanly" in text.stdout
    assert "running" in text.stdout
