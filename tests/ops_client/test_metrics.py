"""`tm metrics`: the time range sent, the table, the sparklines (colour only when allowed)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest

from tensormesh_cli.charts import sparkline, sparkline_row

from .conftest import FakeControlPlane, Tm

STAMPS = ["2026-01-31T12:00:00Z", "2026-01-31T12:01:00Z", "2026-01-31T12:02:00Z"]


def series(name: str, values: list[float]) -> dict[str, Any]:
    return {
        "name": name,
        "data": [{"timestamp": t, "value": v} for t, v in zip(STAMPS, values, strict=True)],
    }


METRICS = {
    "metrics": [
        series("latency_p50_ms", [120.5, 80, 95]),
        series("requests", [0, 4, 8]),
        series("errors", [0, 0, 1]),
    ]
}


def test_deployment_metrics_table_and_charts(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/observability/deployments/m-1/metrics", (200, METRICS))
    result = tm(
        "metrics", "deployment", "m-1",
        "--start", "2026-01-31T12:00:00Z", "--end", "2026-01-31T12:03:00Z", "--step", "60",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert fake.query() == {
        "startTime": "2026-01-31T12:00:00Z",
        "endTime": "2026-01-31T12:03:00Z",
        "stepSeconds": "60",
    }
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Metrics of model m-1: 2026-01-31T12:00:00Z to")
    header = lines[2].split()
    assert header == ["TIME", "REQUESTS", "ERRORS", "LATENCY_P50_MS"]
    assert lines[3].split() == ["2026-01-31T12:00:00Z", "0", "0", "120.5"]
    assert lines[5].split() == ["2026-01-31T12:02:00Z", "8", "1", "95"]
    charts = [text for text in lines if text.startswith(("requests ", "latency_p50_ms "))]
    assert charts[0].split()[1] == "▁▅█"
    assert charts[0].endswith("max 8, last 8")
    assert charts[1].split()[1] == "█▆▇"
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_user_metrics_default_window_and_json(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/observability/users/metrics", (200, METRICS))
    data = tm.json("metrics", "user", "--window", "24h", "--user-id", "u-1")
    query = fake.query()
    start = datetime.fromisoformat(query["startTime"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(query["endTime"].replace("Z", "+00:00"))
    assert (end - start).total_seconds() == 86400
    assert query["stepSeconds"] == "2880"  # about 30 points
    assert query["userId"] == "u-1"
    assert data["step_seconds"] == 2880
    assert [metric["name"] for metric in data["metrics"]] == [
        "latency_p50_ms",
        "requests",
        "errors",
    ]


def test_metrics_without_data(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/observability/users/metrics", (200, {}))
    result = tm("metrics", "user")
    assert result.exit_code == 0
    assert "(no data in this time range)" in result.stdout


def test_metrics_table_output(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/observability/users/metrics", (200, METRICS))
    result = tm("--output", "table", "metrics", "user")
    assert result.exit_code == 0
    assert "latency_p50_ms" in result.stdout
    assert "120.5" in result.stdout


def test_bad_ranges_are_usage_errors(tm: Tm, fake: FakeControlPlane) -> None:
    assert tm("metrics", "user", "--window", "soon").exit_code == 2
    backwards = tm("metrics", "user", "--start", "2026-02-01T00:00:00Z", "--end", "2026-01-01")
    assert backwards.exit_code == 2
    assert "before its end" in backwards.stderr
    assert fake.requests == []


def test_sparkline_scales_to_the_largest_value() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([None, 2.0]) == " █"
    assert sparkline([]) == ""


def test_sparkline_row_colour_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = sparkline_row("requests", [1, 2], width=10)
    assert plain == "requests    ▅█  max 2, last 2"
    coloured = sparkline_row("requests", [1, 2], width=10, color="cyan")
    assert "\x1b[36m▅█\x1b[0m" in coloured
    assert sparkline_row("x", [None], width=1).endswith("no data")


def test_charts_are_coloured_only_when_colour_is_enabled(
    tm: Tm, fake: FakeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.on("GET", "/v1/observability/users/metrics", (200, METRICS))
    monkeypatch.setattr("tensormesh_cli.commands.metrics.color_enabled", lambda: True)
    coloured = tm("metrics", "user", color=True)
    assert "\x1b[36m▁▅█\x1b[0m" in coloured.stdout


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from tensormesh_cli.render import color_enabled

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert color_enabled(Terminal()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert color_enabled(Terminal()) is False
