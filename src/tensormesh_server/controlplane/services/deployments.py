"""Models deployed through the Control Plane: deploy, list, get, delete, validate a name, and
the status events and log lines the gateways report.

Who may do what: only admins deploy (a deployment loads a file from the server's disk or makes
the server call network addresses); an admin may deploy for a user (`userId`), who then owns
it. The owner and admins may read and delete a deployment; anyone else gets 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from tensormesh.types.operations import Deployment as DeploymentModel
from tensormesh.types.operations import (
    DeploymentEvent as EventModel,
)
from tensormesh.types.operations import (
    DeploymentStatus,
    DeployRequest,
    Engine,
)
from tensormesh_server.controlplane.errors import (
    already_exists,
    invalid_argument,
    not_found,
    permission_denied,
)
from tensormesh_server.models_config import default_embedded_model
from tensormesh_server.store.models import User
from tensormesh_server.store.operations_models import (
    Deployment,
    DeploymentEvent,
    DeploymentLog,
)

from . import activities, paging
from .activities import Actor
from .users import is_admin, resolve_target

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$")
LOG_LINES_KEPT = 2000
"""Log lines kept per deployment (older ones are dropped)."""
LIVE = (DeploymentStatus.DEPLOYING.value, DeploymentStatus.UP.value, DeploymentStatus.DOWN.value)


def deployment_model(row: Deployment, events: Iterable[DeploymentEvent] = ()) -> DeploymentModel:
    """The `Model` message of a deployment row."""
    return DeploymentModel(
        model_id=row.id,
        model_name=row.model_name,
        description=row.description,
        model_path=row.model_path or None,
        status=row.status,
        events=[
            EventModel(created_at=e.created_at, log=e.log, event_type=e.event_type) for e in events
        ],
        endpoint="/v1/chat/completions",
        created_at=row.created_at,
        updated_at=row.updated_at,
        user_id=row.user_id,
        engine=row.engine,
        upstream_urls=list(row.upstream_urls),
        max_model_len=row.max_model_len,
    )


def events_of(session: Session, deployment_id: str) -> list[DeploymentEvent]:
    """The events of a deployment, oldest first."""
    return list(
        session.scalars(
            select(DeploymentEvent)
            .where(DeploymentEvent.deployment_id == deployment_id)
            .order_by(DeploymentEvent.seq)
        )
    )


def name_problem(session: Session, name: str, static: Iterable[str] = ()) -> str | None:
    """Why `name` cannot be deployed now (bad characters, taken by a deployment or by one of
    the `static` models served from flags or a models file), or None."""
    if name in static:
        return f"a model named {name!r} is already deployed (configured on the server)"
    if not NAME_PATTERN.match(name):
        return (
            "a model name is 1 to 200 letters, digits or . _ : / @ + - "
            "and starts with a letter or digit"
        )
    taken = session.scalar(
        select(Deployment.id).where(Deployment.model_name == name, Deployment.status.in_(LIVE))
    )
    return f"a model named {name!r} is already deployed" if taken else None


def _check_urls(urls: list[str]) -> list[str]:
    cleaned = []
    for url in urls:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid_argument(f"upstreamUrls: {url!r} is not an http(s) URL")
        cleaned.append(url.strip().rstrip("/"))
    return cleaned


def _engine_of(request: DeployRequest) -> str:
    if request.engine is None or str(request.engine) == "":
        return Engine.OPENAI.value if request.upstream_urls else Engine.EMBEDDED.value
    engine = str(request.engine)
    if engine not in (Engine.EMBEDDED.value, Engine.OPENAI.value):
        raise invalid_argument(f"engine must be 'embedded' or 'openai', not {engine!r}")
    return engine


def add_event(
    session: Session, row: Deployment, status: DeploymentStatus, log: str, now: datetime
) -> None:
    """Record a status change with its reason and set the status."""
    row.status = status.value
    row.updated_at = now
    session.add(
        DeploymentEvent(deployment_id=row.id, event_type=status.value, log=log, created_at=now)
    )


def _next_revision(session: Session) -> int:
    return int(session.scalar(select(func.max(Deployment.revision))) or 0) + 1


def deploy(
    session: Session,
    actor: User,
    request: DeployRequest,
    user_id: str | None,
    now: datetime,
    static: Iterable[str] = (),
) -> Deployment:
    """Create a deployment in DEPLOYING; the gateways pick it up within a second."""
    if not is_admin(actor):
        raise permission_denied("only an admin may deploy models")
    owner = resolve_target(session, actor, user_id)
    name = request.model_name.strip()
    problem = name_problem(session, name, static)
    if problem is not None:
        raise (already_exists if "already deployed" in problem else invalid_argument)(problem)
    engine = _engine_of(request)
    urls = _check_urls(list(request.upstream_urls or []))
    path = (request.model_path or "").strip()
    if engine == Engine.OPENAI.value and not urls:
        raise invalid_argument("an openai deployment needs upstreamUrls (its replicas)")
    if engine == Engine.EMBEDDED.value:
        if urls:
            raise invalid_argument("an embedded deployment takes modelPath, not upstreamUrls")
        path = path or (default_embedded_model() or "")
        if not path:
            raise invalid_argument("modelPath is required (no default GGUF file is installed)")
    row = Deployment(
        user_id=owner.id,
        model_name=name,
        description=request.description or "",
        model_path=path,
        engine=engine,
        upstream_urls=urls,
        max_model_len=request.max_model_len,
        status=DeploymentStatus.DEPLOYING.value,
        revision=_next_revision(session),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    add_event(
        session, row, DeploymentStatus.DEPLOYING, f"deployment requested by {actor.email}", now
    )
    activities.record(
        session,
        Actor.of_user(actor),
        "model.deploy",
        resource_type="model",
        resource_id=row.id,
        user_id=owner.id,
        now=now,
        description=f"deployed {name} ({engine})",
        metadata={"modelName": name, "engine": engine, "replicas": len(urls)},
    )
    return row


def visible(session: Session, actor: User, deployment_id: str) -> Deployment:
    """A deployment the actor may see: their own, or any for an admin (404 otherwise)."""
    row = session.get(Deployment, deployment_id)
    if row is None or (row.user_id != actor.id and not is_admin(actor)):
        raise not_found(f"model {deployment_id!r} not found")
    return row


def listing(
    session: Session, actor: User, user_id: str | None, page: paging.Page
) -> tuple[list[Deployment], int]:
    """Deployments that are not deleted: the caller's own, a named user's (admins), or all
    of them for an admin who names nobody; newest first."""
    statement: Select[Deployment] = select(Deployment).where(Deployment.status.in_(LIVE))
    if user_id or not is_admin(actor):
        target = resolve_target(session, actor, user_id)
        statement = statement.where(Deployment.user_id == target.id)
    statement = statement.order_by(Deployment.created_at.desc(), Deployment.id)
    return paging.fetch(session, statement, page)


def remove(session: Session, actor: User, deployment_id: str, now: datetime) -> Deployment:
    """Undeploy: status DELETED; the gateways drop the model within a second."""
    row = visible(session, actor, deployment_id)
    if row.status == DeploymentStatus.DELETED.value:
        raise not_found(f"model {deployment_id!r} not found")
    add_event(session, row, DeploymentStatus.DELETED, f"deleted by {actor.email}", now)
    row.deleted_at = now
    row.revision = _next_revision(session)
    activities.record(
        session,
        Actor.of_user(actor),
        "model.delete",
        resource_type="model",
        resource_id=row.id,
        user_id=row.user_id,
        now=now,
        description=f"deleted {row.model_name}",
        metadata={"modelName": row.model_name},
    )
    return row


def live(session: Session) -> list[Deployment]:
    """Every deployment the gateways should serve."""
    return list(
        session.scalars(
            select(Deployment).where(Deployment.status.in_(LIVE)).order_by(Deployment.created_at)
        )
    )


def append_logs(session: Session, lines: Iterable[tuple[str, datetime, str]]) -> None:
    """Store log lines `(deployment id, time, message)`, keeping the newest LOG_LINES_KEPT."""
    touched: set[str] = set()
    for deployment_id, when, message in lines:
        session.add(DeploymentLog(deployment_id=deployment_id, timestamp=when, message=message))
        touched.add(deployment_id)
    session.flush()
    for deployment_id in touched:
        cutoff = session.scalar(
            select(DeploymentLog.seq)
            .where(DeploymentLog.deployment_id == deployment_id)
            .order_by(DeploymentLog.seq.desc())
            .offset(LOG_LINES_KEPT)
            .limit(1)
        )
        if cutoff is not None:
            session.execute(
                delete(DeploymentLog).where(
                    DeploymentLog.deployment_id == deployment_id, DeploymentLog.seq <= cutoff
                )
            )


def read_logs(
    session: Session,
    deployment_id: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    backward: bool,
) -> list[DeploymentLog]:
    """Up to `limit` lines in [start, end); BACKWARD reads the newest first."""
    statement = select(DeploymentLog).where(DeploymentLog.deployment_id == deployment_id)
    if start is not None:
        statement = statement.where(DeploymentLog.timestamp >= start)
    if end is not None:
        statement = statement.where(DeploymentLog.timestamp < end)
    order = DeploymentLog.seq.desc() if backward else DeploymentLog.seq
    return list(session.scalars(statement.order_by(order).limit(limit)))
