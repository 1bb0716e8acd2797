"""`GET /v1/admin/users` (pages) and `POST /v1/admin/users/change_role`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.control_plane import UserReply
from tensormesh.types.operations import AdminUserList, AdminUserListQuery, ChangeRoleRequest
from tensormesh_server.controlplane.services import admin_users, paging
from tensormesh_server.controlplane.wire import user_model
from tensormesh_server.store.models import User

from .common import as_user, json_object, parse, reply
from .queries import query


async def list_users(request: Request) -> Response:
    """A page of users."""
    params = query(request, AdminUserListQuery)
    page = paging.Page.of(params.page, params.size)

    def run(session: Session, actor: User, _now: datetime) -> AdminUserList:
        rows, total = admin_users.listing(session, actor, page)
        return AdminUserList(
            users=[user_model(row) for row in rows], page=page.page, size=page.size, total=total
        )

    return reply(await as_user(request, run))


async def change_role(request: Request) -> Response:
    """Change a user's role."""
    body = parse(ChangeRoleRequest, await json_object(request, admin=True))

    def run(session: Session, actor: User, now: datetime) -> UserReply:
        target = admin_users.change_role(
            session, actor, body.target_user_id, str(body.target_user_role), now
        )
        return UserReply(user=user_model(target))

    return reply(await as_user(request, run))


routes = [
    Route("/v1/admin/users", list_users, methods=["GET"]),
    Route("/v1/admin/users/change_role", change_role, methods=["POST"]),
]
