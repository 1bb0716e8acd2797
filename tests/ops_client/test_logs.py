"""`tm logs`: one read, and follow mode printing only new lines as the server's log grows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx2
import pytest

from tensormesh.types.operations import LogLine
from tensormesh_cli.commands import logs as logs_module
from tensormesh_cli.commands.logs import NewLines

from .conftest import FakeControlPlane, Tm

ROUTE = "/v1/observability/deployments/m-1/logs"
T0 = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)


def line(second: float, message: str) -> dict[str, Any]:
    moment = T0 + timedelta(seconds=second)
    return {"timestamp": moment.isoformat().replace("+00:00", "Z"), "message": message}


class GrowingLog:
    """A deployment log that grows between polls; answers like the server (start inclusive,
    BACKWARD = newest first, at most `limit`)."""

    def __init__(self, *batches: list[dict[str, Any]]) -> None:
        self.batches = list(batches)
        self.lines: list[dict[str, Any]] = []
        self.queries: list[dict[str, str]] = []

    def grow(self) -> None:
        if self.batches:
            self.lines += self.batches.pop(0)

    def __call__(self, request: httpx2.Request) -> tuple[int, Any]:
        query = dict(request.url.params)
        self.queries.append(query)
        lines = sorted(self.lines, key=lambda item: item["timestamp"])
        if "startTime" in query:
            lines = [item for item in lines if item["timestamp"] >= query["startTime"]]
        if query.get("direction") == "LOG_DIRECTION_BACKWARD":
            lines.reverse()
        return 200, {"logs": lines[: int(query.get("limit", 100))]}


def stop_after(polls: int, log: GrowingLog) -> Callable[[float], None]:
    """A sleep that grows the log, and presses Ctrl-C after `polls` sleeps."""
    count = 0

    def sleep(_seconds: float) -> None:
        nonlocal count
        count += 1
        if count > polls:
            raise KeyboardInterrupt
        log.grow()

    return sleep


def test_logs_prints_the_newest_lines_oldest_first(tm: Tm, fake: FakeControlPlane) -> None:
    log = GrowingLog([line(0, "boot"), line(1, "loaded"), line(2, "ready")])
    log.grow()
    fake.on("GET", ROUTE, log)
    result = tm("logs", "m-1", "--limit", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("2026-01-31T12:00:01.000Z  loaded\n2026-01-31T12:00:02.000Z  ready\n")
    assert log.queries[0] == {"limit": "2", "direction": "LOG_DIRECTION_BACKWARD"}
    data = json.loads(tm("--output", "json", "logs", "m-1").stdout)
    assert [item["message"] for item in data["logs"]] == ["boot", "loaded", "ready"]


def test_logs_since_sends_a_start_time(tm: Tm, fake: FakeControlPlane) -> None:
    log = GrowingLog()
    fake.on("GET", ROUTE, log)
    result = tm("logs", "m-1", "--since", "2026-01-31T11:00:00Z")
    assert result.exit_code == 0
    assert "(no log lines for m-1)" in result.stderr
    assert log.queries[0]["startTime"] == "2026-01-31T11:00:00Z"


def test_follow_prints_only_new_lines(
    tm: Tm, fake: FakeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = GrowingLog(
        [line(0, "boot"), line(1, "loaded")],
        [line(1, "loaded again"), line(2, "request 1")],  # one new line at the same second
        [],
        [line(3, "request 2"), line(3, "request 2")],  # the same text twice is two lines
    )
    log.grow()
    fake.on("GET", ROUTE, log)
    monkeypatch.setattr(logs_module, "sleep", stop_after(4, log))
    result = tm("logs", "m-1", "-f")
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted."
    messages = [text.split("  ", 1)[1] for text in result.stdout.splitlines()]
    assert messages == ["boot", "loaded", "loaded again", "request 1", "request 2", "request 2"]
    follow_queries = log.queries[1:]
    assert all(query["direction"] == "LOG_DIRECTION_FORWARD" for query in follow_queries)
    assert follow_queries[-1]["startTime"] == "2026-01-31T12:00:03Z"


def test_follow_in_json_prints_one_object_per_line(
    tm: Tm, fake: FakeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = GrowingLog([], [line(5, "late")])
    fake.on("GET", ROUTE, log)
    monkeypatch.setattr(logs_module, "sleep", stop_after(2, log))
    result = tm("--output", "json", "logs", "m-1", "--follow")
    assert result.exit_code == 130
    assert [json.loads(text)["message"] for text in result.stdout.splitlines()] == ["late"]
    assert "direction" in log.queries[1]  # nothing shown yet: the newest lines again


def test_follow_reads_on_without_sleeping_after_a_full_page(
    tm: Tm, fake: FakeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = GrowingLog([line(0, "line 0")], [line(n, f"line {n}") for n in range(1, 6)])
    log.grow()
    fake.on("GET", ROUTE, log)
    sleeps: list[float] = []
    sleep = stop_after(1, log)

    def counting_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        sleep(seconds)

    monkeypatch.setattr(logs_module, "sleep", counting_sleep)
    result = tm("logs", "m-1", "-f", "--limit", "2", "--interval", "0.5")
    assert result.exit_code == 130
    assert [text.split("  ", 1)[1] for text in result.stdout.splitlines()] == [
        f"line {n}" for n in range(6)
    ]
    # Polls: the first read, one that finds nothing new (sleep), then full pages read
    # back to back until a short one (sleep, Ctrl-C).
    assert sleeps == [0.5, 0.5]
    assert len(log.queries) == 2 + 6


def test_new_lines_tracker() -> None:
    def parsed(*items: dict[str, Any]) -> list[LogLine]:
        return [LogLine.model_validate(item) for item in items]

    tracker = NewLines()
    assert [x.message for x in tracker.take(parsed(line(2, "b"), line(1, "a")))] == ["a", "b"]
    assert tracker.take(parsed(line(1, "a"), line(2, "b"))) == []
    again = tracker.take(parsed(line(2, "b"), line(2, "b"), line(3, "c")))
    assert [x.message for x in again] == ["b", "c"]
    assert tracker.cursor == T0 + timedelta(seconds=3)


def test_follow_survives_a_control_plane_restart(
    tm: Tm, fake: FakeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = GrowingLog([line(0, "before")], [line(9, "after")])
    log.grow()
    down = False

    def answer(request: httpx2.Request) -> tuple[int, Any]:
        if down:
            raise httpx2.ConnectError("connection refused")
        return log(request)

    fake.on("GET", ROUTE, answer)
    sleeps = 0

    def sleep(_seconds: float) -> None:
        nonlocal down, sleeps
        sleeps += 1
        if sleeps == 1:
            down = True
        elif sleeps == 3:
            down = False
            log.grow()
        elif sleeps > 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(logs_module, "sleep", sleep)
    result = tm("logs", "m-1", "-f")
    assert result.exit_code == 130
    assert [text.split("  ", 1)[1] for text in result.stdout.splitlines()] == ["before", "after"]
    assert result.stderr.count("Cannot reach http://cp.test; retrying every 2 s.") == 1
    assert result.stderr.count("Reconnected.") == 1


def test_a_control_plane_that_is_down_at_the_start_is_an_error(
    tm: Tm, fake: FakeControlPlane
) -> None:
    def refuse(request: httpx2.Request) -> tuple[int, Any]:
        raise httpx2.ConnectError("connection refused")

    fake.on("GET", ROUTE, refuse)
    result = tm("logs", "m-1", "-f")
    assert result.exit_code == 1
    assert "cannot reach the control plane API at http://cp.test" in result.stderr
    assert "Traceback" not in result.output
