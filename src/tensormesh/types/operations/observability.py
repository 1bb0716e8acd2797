"""Metrics and logs (API.md §2 "observability"): `/v1/observability/...`."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import Field

from tensormesh._options import RequestOptions
from tensormesh.types.control_plane import ControlPlaneModel, Timestamp

__all__ = [
    "METRIC_NAMES",
    "LogDirection",
    "LogLine",
    "LogList",
    "LogListParams",
    "LogListQuery",
    "Metric",
    "MetricPoint",
    "Metrics",
    "MetricsParams",
    "MetricsQuery",
    "UserMetricsParams",
]

METRIC_NAMES = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "errors",
    "latency_p50_ms",
    "latency_p99_ms",
    "ttft_p50_ms",
)
"""The metric names of API.md, in the order they are usually shown."""


class LogDirection(str, enum.Enum):
    """Which end of the time range logs are read from: oldest first or newest first."""

    FORWARD = "LOG_DIRECTION_FORWARD"
    BACKWARD = "LOG_DIRECTION_BACKWARD"

    def __str__(self) -> str:
        return self.value


class MetricPoint(ControlPlaneModel):
    """One value of a series, at the start of its step."""

    timestamp: Timestamp
    value: float = 0.0


class Metric(ControlPlaneModel):
    """One named series (e.g. `requests`, `latency_p50_ms`)."""

    name: str = ""
    data: list[MetricPoint] = Field(default_factory=list)


class Metrics(ControlPlaneModel):
    """`{metrics[]}`: the reply of the user and deployment metrics routes."""

    metrics: list[Metric] = Field(default_factory=list)

    def series(self, name: str) -> Metric | None:
        """The series called `name`, if the server sent it."""
        return next((metric for metric in self.metrics if metric.name == name), None)


class LogLine(ControlPlaneModel):
    """One log line of a deployment (engine or gateway)."""

    timestamp: Timestamp
    message: str = ""


class LogList(ControlPlaneModel):
    """`{logs[]}`: the reply of GET /v1/observability/deployments/{modelId}/logs."""

    logs: list[LogLine] = Field(default_factory=list)


class MetricsQuery(ControlPlaneModel):
    """Query of the metrics routes (`user_id` only for user metrics)."""

    user_id: str | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    step_seconds: int | None = Field(default=None, ge=1)


class LogListQuery(ControlPlaneModel):
    """Query of the deployment logs route."""

    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    limit: int | None = Field(default=None, ge=1)
    direction: LogDirection | str | None = None


class MetricsParams(RequestOptions, total=False):
    """Keyword arguments of the `metrics.get` methods (times: datetime or RFC 3339 string)."""

    start_time: datetime | str | None
    end_time: datetime | str | None
    step_seconds: int | None


class UserMetricsParams(MetricsParams, total=False):
    """Keyword arguments of `observability.users.metrics.get` (admins: `user_id`)."""

    user_id: str | None


class LogListParams(RequestOptions, total=False):
    """Keyword arguments of `observability.deployments.logs.list`."""

    start_time: datetime | str | None
    end_time: datetime | str | None
    limit: int | None
    direction: LogDirection | str | None
