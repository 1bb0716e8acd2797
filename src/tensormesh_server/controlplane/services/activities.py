"""The audit trail: every change made through the Control Plane (or by an operator) writes one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tensormesh_server.store.models import Activity, User

ACTOR_USER = "ACTOR_TYPE_USER"
ACTOR_OPERATOR = "ACTOR_TYPE_OPERATOR"
ACTOR_SYSTEM = "ACTOR_TYPE_SYSTEM"


@dataclass(frozen=True)
class Actor:
    """Who makes a change."""

    type: str
    id: str
    display: str

    @classmethod
    def of_user(cls, user: User) -> Actor:
        """A signed-in user."""
        return cls(ACTOR_USER, user.id, user.email)


OPERATOR = Actor(ACTOR_OPERATOR, "operator", "operator (tm server)")
SYSTEM = Actor(ACTOR_SYSTEM, "system", "tensormesh server")


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    resource_type: str,
    resource_id: str,
    user_id: str | None,
    now: datetime,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> Activity:
    """Add one activity row to the session's transaction (no secrets in `metadata`)."""
    activity = Activity(
        actor_type=actor.type,
        actor_id=actor.id,
        actor_display=actor.display,
        user_id=user_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        description=description,
        metadata_=metadata or {},
        occurred_at=now,
        recorded_at=now,
    )
    session.add(activity)
    return activity
