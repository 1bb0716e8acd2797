"""Lets the Control Plane's `GET /metrics` show the live gateway series when both surfaces run
in one process."""

from __future__ import annotations

from typing import Any

from tensormesh_server.metrics import Metrics


def share_gateway_metrics(controlplane: Any, metrics: Metrics | None) -> None:
    """Hand the gateway's metrics to the Control Plane app (a Starlette app under `.app`)."""
    inner = getattr(controlplane, "app", None)
    state = getattr(inner, "state", None)
    if state is not None and metrics is not None:
        state.gateway_metrics = metrics
