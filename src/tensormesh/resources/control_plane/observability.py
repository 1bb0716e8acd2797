"""`control_plane.observability`: request metrics of a user (`users.metrics`) and the logs and
metrics of one deployment (`deployments.logs`, `deployments.metrics`). Times are datetimes or
RFC 3339 strings."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh.types.operations import (
    LogList,
    LogListParams,
    LogListQuery,
    Metrics,
    MetricsParams,
    MetricsQuery,
    UserMetricsParams,
)

from ._base import AsyncControlPlaneResource, ControlPlaneResource
from ._wire import body_params

if TYPE_CHECKING:
    from tensormesh._transport import AsyncTransport, SyncTransport

__all__ = [
    "AsyncDeploymentLogs",
    "AsyncDeploymentMetrics",
    "AsyncDeploymentObservability",
    "AsyncObservability",
    "AsyncUserMetrics",
    "AsyncUserObservability",
    "DeploymentLogs",
    "DeploymentMetrics",
    "DeploymentObservability",
    "Observability",
    "UserMetrics",
    "UserObservability",
]

BASE = "/v1/observability"
USER_METRICS: Endpoint[Metrics, None] = Endpoint(
    "GET", BASE + "/users/metrics", Metrics, surface=CONTROL_PLANE
)
DEPLOYMENT_LOGS: Endpoint[LogList, None] = Endpoint(
    "GET", BASE + "/deployments/{model_id}/logs", LogList, surface=CONTROL_PLANE
)
DEPLOYMENT_METRICS: Endpoint[Metrics, None] = Endpoint(
    "GET", BASE + "/deployments/{model_id}/metrics", Metrics, surface=CONTROL_PLANE
)


class UserMetrics(ControlPlaneResource):
    """Your request metrics over time (admins: anyone's, with `user_id`)."""

    def get(self, **params: Unpack[UserMetricsParams]) -> Metrics:
        """GET /v1/observability/users/metrics: one series per metric name (`.metrics`)."""
        return self._fetch(USER_METRICS, body_params(params, MetricsQuery))


class AsyncUserMetrics(AsyncControlPlaneResource):
    """Your request metrics over time (async)."""

    async def get(self, **params: Unpack[UserMetricsParams]) -> Metrics:
        """GET /v1/observability/users/metrics: one series per metric name (`.metrics`)."""
        return await self._fetch(USER_METRICS, body_params(params, MetricsQuery))


class DeploymentLogs(ControlPlaneResource):
    """The engine's and the gateway's log lines of one deployment."""

    def list(self, deployment_id: str, **params: Unpack[LogListParams]) -> LogList:
        """GET /v1/observability/deployments/{id}/logs: lines in `direction` order
        (LogDirection.BACKWARD: newest first), at most `limit`."""
        query = body_params(params, LogListQuery)
        return self._fetch_at(DEPLOYMENT_LOGS, query, model_id=deployment_id)


class AsyncDeploymentLogs(AsyncControlPlaneResource):
    """The log lines of one deployment (async)."""

    async def list(self, deployment_id: str, **params: Unpack[LogListParams]) -> LogList:
        """GET /v1/observability/deployments/{id}/logs: lines in `direction` order."""
        query = body_params(params, LogListQuery)
        return await self._fetch_at(DEPLOYMENT_LOGS, query, model_id=deployment_id)


class DeploymentMetrics(ControlPlaneResource):
    """The request metrics of one deployment over time."""

    def get(self, deployment_id: str, **params: Unpack[MetricsParams]) -> Metrics:
        """GET /v1/observability/deployments/{id}/metrics: one series per metric name."""
        query = body_params(params, MetricsQuery)
        return self._fetch_at(DEPLOYMENT_METRICS, query, model_id=deployment_id)


class AsyncDeploymentMetrics(AsyncControlPlaneResource):
    """The request metrics of one deployment over time (async)."""

    async def get(self, deployment_id: str, **params: Unpack[MetricsParams]) -> Metrics:
        """GET /v1/observability/deployments/{id}/metrics: one series per metric name."""
        query = body_params(params, MetricsQuery)
        return await self._fetch_at(DEPLOYMENT_METRICS, query, model_id=deployment_id)


class _Namespace:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport


class _AsyncNamespace:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport


class UserObservability(_Namespace):
    """`observability.users`: `metrics`."""

    @cached_property
    def metrics(self) -> UserMetrics:
        """A user's request metrics."""
        return UserMetrics(self._transport)


class AsyncUserObservability(_AsyncNamespace):
    """`observability.users` (async): `metrics`."""

    @cached_property
    def metrics(self) -> AsyncUserMetrics:
        """A user's request metrics."""
        return AsyncUserMetrics(self._transport)


class DeploymentObservability(_Namespace):
    """`observability.deployments`: `logs` and `metrics`."""

    @cached_property
    def logs(self) -> DeploymentLogs:
        """A deployment's log lines."""
        return DeploymentLogs(self._transport)

    @cached_property
    def metrics(self) -> DeploymentMetrics:
        """A deployment's request metrics."""
        return DeploymentMetrics(self._transport)


class AsyncDeploymentObservability(_AsyncNamespace):
    """`observability.deployments` (async): `logs` and `metrics`."""

    @cached_property
    def logs(self) -> AsyncDeploymentLogs:
        """A deployment's log lines."""
        return AsyncDeploymentLogs(self._transport)

    @cached_property
    def metrics(self) -> AsyncDeploymentMetrics:
        """A deployment's request metrics."""
        return AsyncDeploymentMetrics(self._transport)


class Observability(_Namespace):
    """Metrics and logs: `users.metrics`, `deployments.logs`, `deployments.metrics`."""

    @cached_property
    def users(self) -> UserObservability:
        """Per-user metrics."""
        return UserObservability(self._transport)

    @cached_property
    def deployments(self) -> DeploymentObservability:
        """Per-deployment logs and metrics."""
        return DeploymentObservability(self._transport)


class AsyncObservability(_AsyncNamespace):
    """Metrics and logs (async): the same names as `Observability`."""

    @cached_property
    def users(self) -> AsyncUserObservability:
        """Per-user metrics."""
        return AsyncUserObservability(self._transport)

    @cached_property
    def deployments(self) -> AsyncDeploymentObservability:
        """Per-deployment logs and metrics."""
        return AsyncDeploymentObservability(self._transport)
