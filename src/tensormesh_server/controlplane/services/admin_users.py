"""Admin user management: list users, change roles.

Rules: admins (ADMIN or SUPER_ADMIN) list users and move them between USER and ADMIN; only a
super admin grants or takes away SUPER_ADMIN; the last super admin cannot be demoted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tensormesh.types.control_plane import UserRole
from tensormesh_server.controlplane.config import ALL_ROLES
from tensormesh_server.controlplane.errors import invalid_argument, permission_denied
from tensormesh_server.store.models import User

from . import activities, paging
from .activities import Actor
from .products import require_admin
from .users import get_user

SUPER = UserRole.SUPER_ADMIN.value


def listing(session: Session, actor: User, page: paging.Page) -> tuple[list[User], int]:
    """Users, oldest first."""
    require_admin(actor)
    statement = select(User).order_by(User.created_at, User.email)
    return paging.fetch(session, statement, page)


def change_role(session: Session, actor: User, target_id: str, role: str, now: datetime) -> User:
    """Give `target_id` the role `role` (see the module's rules)."""
    require_admin(actor)
    if role not in ALL_ROLES:
        raise invalid_argument(f"unknown role {role!r}; one of {', '.join(ALL_ROLES)}")
    target = get_user(session, target_id)
    if SUPER in (role, target.role) and actor.role != SUPER and role != target.role:
        raise permission_denied("only a super admin may grant or remove USER_ROLE_SUPER_ADMIN")
    if target.role == SUPER and role != SUPER:
        supers = session.scalar(select(func.count()).select_from(User).where(User.role == SUPER))
        if int(supers or 0) <= 1:
            raise invalid_argument("the last super admin cannot lose that role")
    before = target.role
    target.role = role
    target.updated_at = now
    activities.record(
        session,
        Actor.of_user(actor),
        "user.change_role",
        resource_type="user",
        resource_id=target.id,
        user_id=target.id,
        now=now,
        description=f"changed the role of {target.email} from {before} to {role}",
        metadata={"from": before, "to": role},
    )
    return target
