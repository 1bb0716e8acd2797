"""Signed-in browsers of the login page: password check, session cookie token, sign-out."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.errors import CPError
from tensormesh_server.security.credentials import digest, new_session_token
from tensormesh_server.security.passwords import verify_password
from tensormesh_server.store.models import BrowserSession, User

from . import activities
from .users import find_by_email


def sign_in(
    session: Session, email: str, password: str, *, now: datetime, config: ControlPlaneConfig
) -> tuple[User, str] | None:
    """(user, session token) for a correct email and password, else None."""
    try:
        user = find_by_email(session, email)
    except CPError:  # not an email address
        user = None
    if not verify_password(user.password_hash if user else None, password) or user is None:
        return None
    purge_expired(session, now)
    token = new_session_token()
    row = BrowserSession(
        token_hash=digest(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=config.browser_session_seconds),
    )
    session.add(row)
    session.flush()
    activities.record(
        session,
        activities.Actor.of_user(user),
        "auth.sign_in",
        resource_type="browser_session",
        resource_id=row.id,
        user_id=user.id,
        now=now,
        description=f"{user.email} signed in on the login page",
    )
    return user, token


def session_user(session: Session, token: str | None, *, now: datetime) -> User | None:
    """The user of a valid browser session token, or None."""
    if not token:
        return None
    row = session.scalar(select(BrowserSession).where(BrowserSession.token_hash == digest(token)))
    if row is None or row.expires_at <= now:
        return None
    return session.get(User, row.user_id)


def sign_out(session: Session, token: str | None, *, now: datetime) -> None:
    """End a browser session."""
    if not token:
        return
    row = session.scalar(select(BrowserSession).where(BrowserSession.token_hash == digest(token)))
    if row is None:
        return
    session.delete(row)
    user = session.get(User, row.user_id)
    if user is not None:
        activities.record(
            session,
            activities.Actor.of_user(user),
            "auth.sign_out",
            resource_type="browser_session",
            resource_id=row.id,
            user_id=user.id,
            now=now,
            description=f"{user.email} signed out of the login page",
        )


def purge_expired(session: Session, now: datetime) -> None:
    """Forget browser sessions that have expired."""
    session.execute(delete(BrowserSession).where(BrowserSession.expires_at <= now))
