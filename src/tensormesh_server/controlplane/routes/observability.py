"""`/v1/observability/...`: user metrics, deployment logs and metrics; and `GET /metrics`
(Prometheus) of the Control Plane surface."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.operations import (
    LogDirection,
    LogLine,
    LogList,
    LogListQuery,
    Metrics,
    MetricsQuery,
)
from tensormesh_server.controlplane.errors import invalid_argument
from tensormesh_server.controlplane.services import deployments, observability
from tensormesh_server.controlplane.services.users import resolve_target
from tensormesh_server.metrics import Metrics as GatewayMetrics
from tensormesh_server.store.billing_models import RequestRecord
from tensormesh_server.store.models import User

from .common import as_user, context, reply
from .queries import query

DEFAULT_LOG_LIMIT = 100
MAX_LOG_LIMIT = 5000


async def user_metrics(request: Request) -> Response:
    """The caller's (or, for an admin, `userId`'s) request metrics."""
    params = query(request, MetricsQuery)

    def run(session: Session, actor: User, now: datetime) -> Metrics:
        target = resolve_target(session, actor, params.user_id)
        window = observability.Window.of(params, now)
        rows = observability.records(session, window, user_id=target.id)
        return observability.series(rows, window)

    return reply(await as_user(request, run))


async def deployment_metrics(request: Request) -> Response:
    """The request metrics of one deployed model (owner or admin)."""
    model_id = str(request.path_params["model_id"])
    params = query(request, MetricsQuery)

    def run(session: Session, actor: User, now: datetime) -> Metrics:
        row = deployments.visible(session, actor, model_id)
        window = observability.Window.of(params, now)
        rows = [
            record
            for record in observability.records(session, window, model=row.model_name)
            if record.finished_at >= row.created_at
            and (row.deleted_at is None or record.finished_at <= row.deleted_at)
        ]
        return observability.series(rows, window)

    return reply(await as_user(request, run))


async def deployment_logs(request: Request) -> Response:
    """The engine's and the gateway's lines about one deployed model (owner or admin)."""
    model_id = str(request.path_params["model_id"])
    params = query(request, LogListQuery)
    limit = min(params.limit or DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT)
    direction = str(params.direction or LogDirection.BACKWARD)
    if direction not in {d.value for d in LogDirection}:
        raise invalid_argument("direction must be LOG_DIRECTION_FORWARD or LOG_DIRECTION_BACKWARD")
    backward = direction == LogDirection.BACKWARD.value

    def run(session: Session, actor: User, _now: datetime) -> LogList:
        row = deployments.visible(session, actor, model_id)
        lines = deployments.read_logs(
            session, row.id, params.start_time, params.end_time, limit, backward
        )
        return LogList(logs=[LogLine(timestamp=ln.timestamp, message=ln.message) for ln in lines])

    return reply(await as_user(request, run))


def _metered(session: Session) -> str:
    """Counters over every metered request, by model (monotonic: records are only added)."""
    rows = session.execute(
        select(
            RequestRecord.model,
            func.count(),
            func.sum(RequestRecord.prompt_tokens),
            func.sum(RequestRecord.completion_tokens),
            func.sum(RequestRecord.cached_tokens),
            func.sum(RequestRecord.latency_ms),
            func.sum(case((RequestRecord.status_code >= 400, 1), else_=0)),
        ).group_by(RequestRecord.model)
    ).all()
    lines = [
        "# HELP tensormesh_metered_requests_total Metered inference requests, by model.",
        "# TYPE tensormesh_metered_requests_total counter",
        "# HELP tensormesh_metered_errors_total Metered requests that failed, by model.",
        "# TYPE tensormesh_metered_errors_total counter",
        "# HELP tensormesh_metered_tokens_total Metered tokens, by model and kind.",
        "# TYPE tensormesh_metered_tokens_total counter",
        "# HELP tensormesh_metered_latency_ms_total Sum of request latencies, by model.",
        "# TYPE tensormesh_metered_latency_ms_total counter",
    ]
    for model, count, prompt, completion, cached, latency, errors in sorted(rows):
        label = 'model="' + str(model).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"tensormesh_metered_requests_total{{{label}}} {count}")
        lines.append(f"tensormesh_metered_errors_total{{{label}}} {int(errors or 0)}")
        for kind, value in (("prompt", prompt), ("completion", completion), ("cached", cached)):
            lines.append(f'tensormesh_metered_tokens_total{{{label},kind="{kind}"}} {value or 0}')
        lines.append(f"tensormesh_metered_latency_ms_total{{{label}}} {latency or 0}")
    return "\n".join(lines) + "\n"


async def prometheus(request: Request) -> Response:
    """Prometheus text: the metered counters from the database, and the live gateway series
    (in flight, latency histogram) when a gateway runs in this process."""
    cp = context(request)

    def read() -> str:
        with cp.db.session() as session:
            return _metered(session)

    text = await run_in_threadpool(read)
    live = getattr(request.app.state, "gateway_metrics", None)
    if isinstance(live, GatewayMetrics):
        text += live.render()
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")


DEPLOYMENT = "/v1/observability/deployments/{model_id}"
routes = [
    Route("/v1/observability/users/metrics", user_metrics, methods=["GET"]),
    Route(DEPLOYMENT + "/logs", deployment_logs, methods=["GET"]),
    Route(DEPLOYMENT + "/metrics", deployment_metrics, methods=["GET"]),
    Route("/metrics", prometheus, methods=["GET"]),
]
