"""Metrics of requests (from the metering's request records) over time steps, per user or per
deployed model; the metric names are those of API.md."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tensormesh.types.operations import METRIC_NAMES, Metric, MetricPoint, Metrics, MetricsQuery
from tensormesh_server.controlplane.errors import invalid_argument
from tensormesh_server.store.billing_models import RequestRecord

DEFAULT_WINDOW = timedelta(hours=1)
DEFAULT_STEP_SECONDS = 60
MAX_POINTS = 1440


@dataclass(frozen=True)
class Window:
    """[start, end) cut into steps of `step` seconds."""

    start: datetime
    end: datetime
    step: int

    @classmethod
    def of(cls, query: MetricsQuery, now: datetime) -> Window:
        """The window a query asks for (default: the last hour by minute)."""
        end = query.end_time or now
        start = query.start_time or end - DEFAULT_WINDOW
        step = query.step_seconds or DEFAULT_STEP_SECONDS
        if start >= end:
            raise invalid_argument("startTime must be before endTime")
        if (end - start).total_seconds() / step > MAX_POINTS:
            raise invalid_argument(f"too many steps; at most {MAX_POINTS} points per series")
        return cls(start, end, step)

    def steps(self) -> list[datetime]:
        """The start of every step."""
        count = math.ceil((self.end - self.start).total_seconds() / self.step)
        return [self.start + timedelta(seconds=i * self.step) for i in range(count)]

    def index(self, when: datetime) -> int:
        """The step `when` falls in."""
        return int((when - self.start).total_seconds() // self.step)


@dataclass
class _Step:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    errors: int = 0
    latencies: list[int] = field(default_factory=list)
    ttfts: list[int] = field(default_factory=list)

    def add(self, row: RequestRecord) -> None:
        self.requests += 1
        self.input_tokens += row.prompt_tokens
        self.output_tokens += row.completion_tokens
        self.cached_tokens += row.cached_tokens
        self.errors += row.status_code >= 400
        self.latencies.append(row.latency_ms)
        if row.ttft_ms is not None:
            self.ttfts.append(row.ttft_ms)

    def value(self, name: str) -> float:
        if name == "latency_p50_ms":
            return percentile(self.latencies, 50)
        if name == "latency_p99_ms":
            return percentile(self.latencies, 99)
        if name == "ttft_p50_ms":
            return percentile(self.ttfts, 50)
        return float(getattr(self, name))


def percentile(values: Sequence[int], rank: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = max(1, math.ceil(rank / 100 * len(ordered)))
    return float(ordered[position - 1])


def series(rows: Iterable[RequestRecord], window: Window) -> Metrics:
    """Every metric of API.md, one point per step."""
    starts = window.steps()
    steps = [_Step() for _ in starts]
    for row in rows:
        index = window.index(row.finished_at)
        if 0 <= index < len(steps):
            steps[index].add(row)
    return Metrics(
        metrics=[
            Metric(
                name=name,
                data=[
                    MetricPoint(timestamp=when, value=step.value(name))
                    for when, step in zip(starts, steps, strict=True)
                ],
            )
            for name in METRIC_NAMES
        ]
    )


def records(
    session: Session, window: Window, *, user_id: str | None = None, model: str | None = None
) -> list[RequestRecord]:
    """The request records that finished in the window (of a user, or of a model)."""
    statement = select(RequestRecord).where(
        RequestRecord.finished_at >= window.start, RequestRecord.finished_at < window.end
    )
    if user_id is not None:
        statement = statement.where(RequestRecord.user_id == user_id)
    if model is not None:
        statement = statement.where(RequestRecord.model == model)
    return list(session.scalars(statement))
