"""`GET /v1/activities` (filters, pages) and `GET /v1/activities/{activityId}`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.operations import ActivityList, ActivityListQuery, ActivityReply
from tensormesh_server.controlplane.services import activity_log, paging
from tensormesh_server.store.models import User

from .common import as_user, reply
from .queries import query


async def list_activities(request: Request) -> Response:
    """A page of activities: the caller's, or (admins) everyone's or `userId`'s."""
    params = query(request, ActivityListQuery)
    page = paging.Page.of(params.page, params.size)

    def run(session: Session, actor: User, _now: datetime) -> ActivityList:
        rows, total = activity_log.listing(session, actor, params, page)
        return ActivityList(
            activities=[activity_log.activity_model(row) for row in rows],
            page=page.page,
            size=page.size,
            total=total,
        )

    return reply(await as_user(request, run))


async def get_activity(request: Request) -> Response:
    """One activity."""
    activity_id = str(request.path_params["activity_id"])

    def run(session: Session, actor: User, _now: datetime) -> ActivityReply:
        row = activity_log.visible(session, actor, activity_id)
        return ActivityReply(activity=activity_log.activity_model(row))

    return reply(await as_user(request, run))


routes = [
    Route("/v1/activities", list_activities, methods=["GET"]),
    Route("/v1/activities/{activity_id}", get_activity, methods=["GET"]),
]
