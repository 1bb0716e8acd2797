"""`tm metrics user|deployment`: request metrics over a time range, as a table and as small
charts of requests and latency."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.charts import sparkline_row
from tensormesh_cli.commands.auth import timestamp_text
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.render import View, color_enabled, emit, format_columns
from tensormesh_cli.state import get_state
from tensormesh_cli.timespec import time_range

if TYPE_CHECKING:
    from tensormesh.resources.control_plane import ControlPlane
    from tensormesh.types.operations import Metrics

POINTS = 30  # the default step makes about this many points
CHARTS = (("requests", "cyan"), ("latency_p50_ms", "yellow"), ("latency_p99_ms", "red"))


def range_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--window`, `--start`, `--end`, `--step`."""
    for option in reversed(
        (
            click.option(
                "--window",
                default="1h",
                show_default=True,
                help="How far back from --end (or now): 15m, 1h, 24h, 7d...",
            ),
            click.option("--start", metavar="TIME", help="Start (RFC 3339); overrides --window."),
            click.option("--end", metavar="TIME", help="End (RFC 3339; default: now)."),
            click.option(
                "--step",
                type=click.IntRange(min=1),
                metavar="SECONDS",
                help=f"Seconds per point (default: about {POINTS} points).",
            ),
        )
    ):
        command = option(command)
    return command


@click.group()
def metrics() -> None:
    """Request metrics (requests, tokens, errors, latency) over time."""


def metric_table(result: Metrics) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows): one row per point in time, one column per metric."""
    from tensormesh.types.operations import METRIC_NAMES

    names = [name for name in METRIC_NAMES if result.series(name)]
    names += [metric.name for metric in result.metrics if metric.name not in names]
    by_time: dict[datetime, dict[str, Any]] = {}
    for metric in result.metrics:
        for point in metric.data:
            row = by_time.setdefault(point.timestamp, {"time": timestamp_text(point.timestamp)})
            row[metric.name] = _number(point.value)
    rows = [by_time[moment] for moment in sorted(by_time)]
    return ["time", *names], rows


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else round(value, 1)


def charts(result: Metrics, rows: list[dict[str, Any]]) -> list[str]:
    """Sparklines of requests and latency, aligned on the table's points in time."""
    shown = [(name, color) for name, color in CHARTS if result.series(name)]
    width = max((len(name) for name, _ in shown), default=0)
    colored = color_enabled()
    return [
        sparkline_row(
            name,
            [_float(row.get(name)) for row in rows],
            width=width,
            color=color if colored else None,
        )
        for name, color in shown
    ]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _show(
    subject: str,
    fetch: Callable[[ControlPlane, dict[str, Any]], Metrics],
    window: str,
    start: str | None,
    end: str | None,
    step: int | None,
) -> None:
    state = get_state()
    start_time, end_time = time_range(window, start, end)
    step_seconds = step or max(1, math.ceil((end_time - start_time).total_seconds() / POINTS))
    query = {"start_time": start_time, "end_time": end_time, "step_seconds": step_seconds}
    result = ControlPlaneSession.for_state(state).call(lambda cp: fetch(cp, query))
    columns, rows = metric_table(result)
    header = (
        f"{subject}: {timestamp_text(start_time)} to {timestamp_text(end_time)}, "
        f"{step_seconds} s per point"
    )
    if rows:
        text = "\n\n".join([header, format_columns(rows, columns), "\n".join(charts(result, rows))])
    else:
        text = f"{header}\n(no data in this time range)"
    data = {
        "start_time": timestamp_text(start_time),
        "end_time": timestamp_text(end_time),
        "step_seconds": step_seconds,
        "metrics": result.metrics,
    }
    emit(View(data=data, text=text.rstrip(), rows=rows, columns=columns), state.output)


@metrics.command()
@click.option("--user-id", help="Another user's metrics (admins only).")
@range_options
def user(
    user_id: str | None, window: str, start: str | None, end: str | None, step: int | None
) -> None:
    """Your request metrics (all your models)."""
    extra: dict[str, Any] = {"user_id": user_id} if user_id else {}
    _show(
        f"Metrics of {user_id or 'your requests'}",
        lambda cp, query: cp.observability.users.metrics.get(**query, **extra),
        window,
        start,
        end,
        step,
    )


@metrics.command()
@click.argument("model_id")
@range_options
def deployment(
    model_id: str, window: str, start: str | None, end: str | None, step: int | None
) -> None:
    """The request metrics of one deployed model."""
    _show(
        f"Metrics of model {model_id}",
        lambda cp, query: cp.observability.deployments.metrics.get(model_id, **query),
        window,
        start,
        end,
        step,
    )


__all__ = ["metric_table", "metrics"]
