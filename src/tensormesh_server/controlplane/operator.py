"""What the operator commands (`tm server users|api-keys|db`) and `tm server up` do to the
database directly, without a running server."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy.orm import Session

from tensormesh.types.control_plane import UserRole
from tensormesh_server.store.database import Database, database_url
from tensormesh_server.store.migrate import upgrade
from tensormesh_server.store.models import ApiKey, User

from .config import DEFAULT_ADMIN_EMAIL, ENV_ADMIN_EMAIL
from .context import utc_now
from .errors import not_found
from .services import api_keys, users
from .services.activities import OPERATOR

ROLE_NAMES = {
    "user": UserRole.USER.value,
    "admin": UserRole.ADMIN.value,
    "super-admin": UserRole.SUPER_ADMIN.value,
}


def open_database(env: Mapping[str, str] = os.environ) -> Database:
    """The database named by the environment (not migrated yet)."""
    return Database(database_url(env))


def migrate(db: Database) -> tuple[str | None, str]:
    """Run the migrations; returns (revision before, revision after)."""
    return upgrade(db.engine)


def admin_email(env: Mapping[str, str] = os.environ) -> str:
    """The email of the first admin (TENSORMESH_ADMIN_EMAIL, default admin@localhost)."""
    return env.get(ENV_ADMIN_EMAIL, "").strip() or DEFAULT_ADMIN_EMAIL


def ensure_first_admin(db: Database, email: str) -> User | None:
    """Create the first admin on an empty database; None when there are users already."""
    with db.session() as session:
        return users.ensure_first_admin(session, email, now=utc_now())


def create_user(
    db: Database,
    email: str,
    *,
    role: str = "user",
    display_name: str = "",
    password: str | None = None,
) -> User:
    """A new user (`role`: user, admin or super-admin)."""
    with db.session() as session:
        return users.create_user(
            session,
            email,
            now=utc_now(),
            actor=OPERATOR,
            role=ROLE_NAMES.get(role, role),
            display_name=display_name,
            password=password,
        )


def list_users(db: Database) -> list[User]:
    """Every user."""
    with db.session() as session:
        return users.list_users(session)


def set_password(db: Database, email: str, password: str) -> User:
    """Replace the password of the user with this email."""
    with db.session() as session:
        return users.set_password(session, email, password, now=utc_now(), actor=OPERATOR)


def _owner(session: Session, email: str) -> User:
    owner = users.find_by_email(session, email)
    if owner is None:
        raise not_found(f"no user with email {users.normalize_email(email)}")
    return owner


def create_api_key(
    db: Database,
    email: str,
    *,
    name: str = "",
    expires_in_days: float | None = None,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
) -> tuple[ApiKey, str]:
    """A new inference API key for the user with this email (with optional per-minute rate
    limits); returns (row, secret)."""
    now = utc_now()
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    with db.session() as session:
        return api_keys.create_key(
            session,
            OPERATOR,
            _owner(session, email),
            now=now,
            name=name,
            expires_at=expires_at,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
        )
