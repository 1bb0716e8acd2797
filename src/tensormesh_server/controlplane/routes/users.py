"""`GET/PUT /v1/users/{userId}` and `POST /v1/users/accept-tos`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.control_plane import Empty, UserReply, UserUpdate
from tensormesh_server.controlplane.services import users
from tensormesh_server.controlplane.wire import user_model
from tensormesh_server.store.models import User

from .common import as_user, json_object, parse, reply


def _path_user(request: Request, actor: User) -> str:
    user_id = str(request.path_params["user_id"])
    return actor.id if user_id == "me" else user_id


async def get_user(request: Request) -> Response:
    """One user: yourself, or anyone for an admin."""

    def run(session: Session, actor: User, _now: datetime) -> UserReply:
        target = users.resolve_target(session, actor, _path_user(request, actor))
        return UserReply(user=user_model(target))

    return reply(await as_user(request, run))


async def update_user(request: Request) -> Response:
    """Change the names or the company; fields not given stay."""
    changes = parse(UserUpdate, await json_object(request))

    def run(session: Session, actor: User, now: datetime) -> Empty:
        users.update_profile(session, actor, _path_user(request, actor), changes, now=now)
        return Empty()

    return reply(await as_user(request, run))


async def accept_tos(request: Request) -> Response:
    """Accept the terms of service (an admin may name `userId`)."""
    body = await json_object(request)
    user_id = body.get("userId", body.get("user_id"))

    def run(session: Session, actor: User, now: datetime) -> UserReply:
        target = users.accept_tos(session, actor, str(user_id) if user_id else None, now=now)
        return UserReply(user=user_model(target))

    return reply(await as_user(request, run))


routes = [
    Route("/v1/users/accept-tos", accept_tos, methods=["POST"]),
    Route("/v1/users/{user_id}", get_user, methods=["GET"]),
    Route("/v1/users/{user_id}", update_user, methods=["PUT"]),
]
