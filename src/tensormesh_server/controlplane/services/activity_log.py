"""Reading the audit trail: a user sees the activities about them, an admin everyone's."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tensormesh.types.operations import Activity as ActivityModel
from tensormesh.types.operations import ActivityListQuery
from tensormesh_server.controlplane.errors import not_found
from tensormesh_server.store.models import Activity, User

from . import paging
from .users import is_admin, resolve_target


def activity_model(row: Activity) -> ActivityModel:
    """The `Activity` message of a row."""
    return ActivityModel(
        activity_id=row.id,
        actor_type=row.actor_type,
        actor_id=row.actor_id,
        actor_display=row.actor_display,
        user_id=row.user_id,
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        description=row.description,
        metadata=dict(row.metadata_),
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
    )


def listing(
    session: Session, actor: User, params: ActivityListQuery, page: paging.Page
) -> tuple[list[Activity], int]:
    """Activities newest first, filtered by the query's fields."""
    statement: Select[Activity] = select(Activity)
    if params.user_id or not is_admin(actor):
        target = resolve_target(session, actor, params.user_id)
        statement = statement.where(Activity.user_id == target.id)
    if params.action:
        statement = statement.where(Activity.action == params.action)
    if params.resource_type:
        statement = statement.where(Activity.resource_type == params.resource_type)
    if params.resource_id:
        statement = statement.where(Activity.resource_id == params.resource_id)
    if params.start_time is not None:
        statement = statement.where(Activity.occurred_at >= params.start_time)
    if params.end_time is not None:
        statement = statement.where(Activity.occurred_at < params.end_time)
    statement = statement.order_by(Activity.occurred_at.desc(), Activity.id)
    return paging.fetch(session, statement, page)


def visible(session: Session, actor: User, activity_id: str) -> Activity:
    """An activity about the caller, or any for an admin (404 otherwise)."""
    row = session.get(Activity, activity_id)
    if row is None or (row.user_id != actor.id and not is_admin(actor)):
        raise not_found(f"activity {activity_id!r} not found")
    return row
