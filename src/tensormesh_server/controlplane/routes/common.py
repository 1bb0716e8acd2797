"""Helpers shared by the route modules: context, JSON bodies, replies, auth, worker threads."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from tensormesh.types.control_plane import ControlPlaneModel
from tensormesh_server.auth import bearer_token
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.controlplane.errors import invalid_argument, permission_denied
from tensormesh_server.controlplane.services import tokens, users
from tensormesh_server.store.models import User

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def context(request: Request) -> ControlPlaneContext:
    """The app's shared state."""
    cp = request.app.state.cp
    assert isinstance(cp, ControlPlaneContext)
    return cp


def client_ip(request: Request) -> str:
    """The peer address (rate limits are per IP)."""
    return request.client.host if request.client else "unknown"


async def in_transaction(request: Request, work: Callable[[Session, datetime], T]) -> T:
    """Run `work(session, now)` in a worker thread inside one committed transaction."""
    cp = context(request)

    def run() -> T:
        with cp.db.session() as session:
            return work(session, cp.clock())

    return await run_in_threadpool(run)


async def as_user(request: Request, work: Callable[[Session, User, datetime], T]) -> T:
    """Authenticate the access token, then run `work(session, user, now)` in the same
    transaction (401 naming the right credential when the token is missing or wrong)."""
    token = bearer_token(request.headers.get("authorization"))

    def run(session: Session, now: datetime) -> T:
        user = tokens.authenticate(session, token, now=now)
        return work(session, user, now)

    return await in_transaction(request, run)


async def json_object(
    request: Request, *, public: bool = False, admin: bool = False
) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}`. Unless the route is `public`, the
    access token (and with `admin` the admin role) is checked first, so that a caller without
    them gets 401/403, never a 400 about the body."""
    if not public:
        token = bearer_token(request.headers.get("authorization"))
        user = await in_transaction(
            request, lambda session, now: tokens.authenticate(session, token, now=now)
        )
        if admin and not users.is_admin(user):
            raise permission_denied("this route is for admins")
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid_argument("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid_argument("the request body must be a JSON object")
    return body


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate `data` as `model` (400 naming the first bad field)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or model.__name__
        raise invalid_argument(f"invalid {where}: {first['msg']}") from None


def reply(message: ControlPlaneModel | dict[str, Any], status: int = 200) -> JSONResponse:
    """A JSON reply of a wire model (camelCase, None fields left out) or of plain data."""
    data = message.to_wire() if isinstance(message, ControlPlaneModel) else message
    return JSONResponse(data, status_code=status)


def flag(value: str | None) -> bool:
    """A boolean query parameter (`true`/`1`/`yes`)."""
    return (value or "").strip().lower() in {"true", "1", "yes"}
