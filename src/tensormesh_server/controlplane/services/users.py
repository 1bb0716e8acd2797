"""Users: lookup, creation, passwords, profile, terms of service, acting-for rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tensormesh.types.control_plane import UserRole, UserUpdate
from tensormesh_server.controlplane.config import ADMIN_ROLES, ALL_ROLES
from tensormesh_server.controlplane.errors import (
    already_exists,
    invalid_argument,
    not_found,
    permission_denied,
)
from tensormesh_server.security.passwords import WeakPasswordError, hash_password
from tensormesh_server.store.models import User

from . import activities
from .activities import Actor

MAX_NAME = 200


def normalize_email(email: str) -> str:
    """The stored form of an email address (400 when it is not one)."""
    text = email.strip().lower()
    local, at, domain = text.partition("@")
    if not at or not local or not domain or any(ch.isspace() for ch in text) or len(text) > 320:
        raise invalid_argument(f"{email!r} is not an email address")
    return text


def is_admin(user: User) -> bool:
    """True for USER_ROLE_ADMIN and USER_ROLE_SUPER_ADMIN."""
    return user.role in ADMIN_ROLES


def find_by_email(session: Session, email: str) -> User | None:
    """The user with this email, or None."""
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def get_user(session: Session, user_id: str) -> User:
    """The user with this id (404 otherwise)."""
    user = session.get(User, user_id)
    if user is None:
        raise not_found(f"user {user_id!r} not found")
    return user


def resolve_target(session: Session, actor: User, user_id: str | None) -> User:
    """The user a request acts on: the caller, or `user_id` when the caller is an admin."""
    if not user_id or user_id == actor.id:
        return actor
    if not is_admin(actor):
        raise permission_denied("only an admin may act for another user (userId)")
    return get_user(session, user_id)


def _hash(password: str) -> str:
    try:
        return hash_password(password)
    except WeakPasswordError as exc:
        raise invalid_argument(str(exc)) from None


def create_user(
    session: Session,
    email: str,
    *,
    now: datetime,
    actor: Actor,
    role: str = UserRole.USER.value,
    display_name: str = "",
    password: str | None = None,
) -> User:
    """A new user (409 when the email is taken); the password is optional."""
    if role not in ALL_ROLES:
        raise invalid_argument(f"unknown role {role!r}; one of {', '.join(ALL_ROLES)}")
    address = normalize_email(email)
    if find_by_email(session, address) is not None:
        raise already_exists(f"a user with email {address} already exists")
    user = User(
        email=address,
        role=role,
        display_name=display_name[:MAX_NAME],
        password_hash=_hash(password) if password is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    activities.record(
        session,
        actor,
        "user.create",
        resource_type="user",
        resource_id=user.id,
        user_id=user.id,
        now=now,
        description=f"created user {address} ({role})",
        metadata={"email": address, "role": role, "passwordSet": password is not None},
    )
    from .billing import grant_signup_credit  # billing builds on users

    grant_signup_credit(session, user, now=now)
    return user


def set_password(
    session: Session, email: str, password: str, *, now: datetime, actor: Actor
) -> User:
    """Replace a user's password (404 for an unknown email)."""
    user = find_by_email(session, email)
    if user is None:
        raise not_found(f"no user with email {normalize_email(email)}")
    user.password_hash = _hash(password)
    user.updated_at = now
    activities.record(
        session,
        actor,
        "user.set_password",
        resource_type="user",
        resource_id=user.id,
        user_id=user.id,
        now=now,
        description=f"set the password of {user.email}",
    )
    return user


def list_users(session: Session) -> list[User]:
    """Every user, oldest first."""
    return list(session.scalars(select(User).order_by(User.created_at, User.email)))


def count_users(session: Session) -> int:
    """How many users exist."""
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def ensure_first_admin(session: Session, email: str, *, now: datetime) -> User | None:
    """On an empty database, create the first admin (no password); None when users exist."""
    if count_users(session):
        return None
    return create_user(
        session,
        email,
        now=now,
        actor=activities.SYSTEM,
        role=UserRole.SUPER_ADMIN.value,
        display_name="Administrator",
    )


def update_profile(
    session: Session, actor: User, user_id: str, changes: UserUpdate, *, now: datetime
) -> User:
    """Apply the fields that are set in `changes` to the user `user_id`."""
    target = resolve_target(session, actor, user_id)
    updated: dict[str, str] = {}
    for field in ("first_name", "last_name", "display_name", "company"):
        value = getattr(changes, field)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_NAME:
            raise invalid_argument(f"{field} must be a string of at most {MAX_NAME} characters")
        setattr(target, field, value)
        updated[field] = value
    target.updated_at = now
    activities.record(
        session,
        Actor.of_user(actor),
        "user.update",
        resource_type="user",
        resource_id=target.id,
        user_id=target.id,
        now=now,
        description=f"updated the profile of {target.email}",
        metadata={"fields": sorted(updated)},
    )
    return target


def accept_tos(session: Session, actor: User, user_id: str | None, *, now: datetime) -> User:
    """Record that the user accepted the terms of service (the first time counts)."""
    target = resolve_target(session, actor, user_id)
    if target.tos_accepted_at is None:
        target.tos_accepted_at = now
        target.updated_at = now
    activities.record(
        session,
        Actor.of_user(actor),
        "user.accept_tos",
        resource_type="user",
        resource_id=target.id,
        user_id=target.id,
        now=now,
        description=f"{target.email} accepted the terms of service",
    )
    return target
