"""Control-plane access tokens and rotating refresh tokens (stored as SHA-256 digests).

A refresh token works once; presenting it again (a replay) revokes every token of its family,
so a stolen and used refresh token locks out both the thief and the victim until a new login.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tensormesh.types.control_plane import TokenSet
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.errors import unauthenticated
from tensormesh_server.security.credentials import (
    digest,
    looks_like_api_key,
    looks_like_refresh_token,
    new_access_token,
    new_refresh_token,
)
from tensormesh_server.store.models import AccessToken, RefreshToken, User

from . import activities

LOGIN_HINT = "run `tm auth login`"
NEEDS_TOKEN = (
    "A control-plane access token is needed: send `Authorization: Bearer <access token>` "
    f"({LOGIN_HINT} to get one)."
)
INFERENCE_KEY_SENT = (
    "An inference API key was sent to the control plane; it needs a control-plane access "
    f"token instead (from `tm auth login`). {NEEDS_TOKEN}"
)
REPLAYED = f"the refresh token was already used; its login is now revoked: {LOGIN_HINT}"
REFRESH_TOKEN_SENT = (
    "A refresh token was sent as an access token; exchange it at POST /auth/cli/refresh "
    "(`tm auth refresh`)."
)


def issue(
    session: Session, user: User, *, now: datetime, config: ControlPlaneConfig, family_id: str
) -> TokenSet:
    """A new access token and refresh token of `family_id`."""
    access, refresh = new_access_token(), new_refresh_token()
    session.add(
        AccessToken(
            token_hash=digest(access),
            user_id=user.id,
            family_id=family_id,
            created_at=now,
            expires_at=now + timedelta(seconds=config.access_token_seconds),
        )
    )
    session.add(
        RefreshToken(
            token_hash=digest(refresh),
            user_id=user.id,
            family_id=family_id,
            created_at=now,
            expires_at=now + timedelta(seconds=config.refresh_token_seconds),
        )
    )
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        token_type="Bearer",
        expires_in=config.access_token_seconds,
    )


def new_family() -> str:
    """The id of a new token family (one per login)."""
    return str(uuid.uuid4())


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    """Revoke every access and refresh token of a family."""
    for table in (AccessToken, RefreshToken):
        session.execute(
            update(table)
            .where(table.family_id == family_id, table.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def refresh(
    session: Session, presented: str, *, now: datetime, config: ControlPlaneConfig
) -> TokenSet | None:
    """Rotate a refresh token into a new token set.

    Returns None for a replayed (already rotated) token: its whole family is revoked in this
    transaction, which the caller commits before refusing the request with `REPLAYED`."""
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(presented)))
    if row is None or row.revoked_at is not None:
        raise unauthenticated(f"invalid refresh token; {LOGIN_HINT}")
    if row.rotated_at is not None:
        revoke_family(session, row.family_id, now)
        activities.record(
            session,
            activities.SYSTEM,
            "auth.refresh_token_reused",
            resource_type="token_family",
            resource_id=row.family_id,
            user_id=row.user_id,
            now=now,
            description="a rotated refresh token was presented again; its login was revoked",
        )
        return None
    if row.expires_at <= now:
        raise unauthenticated(f"the refresh token has expired; {LOGIN_HINT}")
    rotated = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now)
    )
    if getattr(rotated, "rowcount", 1) != 1:  # a concurrent refresh won the race
        raise unauthenticated(f"the refresh token was already used; {LOGIN_HINT}")
    user = session.get(User, row.user_id)
    if user is None:
        raise unauthenticated(f"the user no longer exists; {LOGIN_HINT}")
    tokens = issue(session, user, now=now, config=config, family_id=row.family_id)
    activities.record(
        session,
        activities.Actor.of_user(user),
        "auth.token_refresh",
        resource_type="token_family",
        resource_id=row.family_id,
        user_id=user.id,
        now=now,
        description=f"refreshed the control-plane token of {user.email}",
    )
    return tokens


def authenticate(session: Session, presented: str | None, *, now: datetime) -> User:
    """The user of a valid access token (401 naming the right credential otherwise)."""
    if not presented:
        raise unauthenticated(NEEDS_TOKEN)
    if looks_like_api_key(presented):
        raise unauthenticated(INFERENCE_KEY_SENT)
    if looks_like_refresh_token(presented):
        raise unauthenticated(REFRESH_TOKEN_SENT)
    row = session.scalar(select(AccessToken).where(AccessToken.token_hash == digest(presented)))
    if row is None or row.revoked_at is not None:
        raise unauthenticated(f"Invalid control-plane access token; {LOGIN_HINT}.")
    if row.expires_at <= now:
        raise unauthenticated(
            "The control-plane access token has expired; run `tm auth refresh` or `tm auth login`."
        )
    user = session.get(User, row.user_id)
    if user is None:
        raise unauthenticated(f"Invalid control-plane access token; {LOGIN_HINT}.")
    return user
