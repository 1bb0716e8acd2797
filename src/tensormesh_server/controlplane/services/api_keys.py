"""Inference API keys: created with the secret shown once, listed without it, deleted by id or
by the key itself; plus the lookups the serverless gateway's key cache makes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tensormesh_server.controlplane.errors import invalid_argument, not_found
from tensormesh_server.security.credentials import (
    digest,
    key_prefix,
    looks_like_api_key,
    new_api_key,
)
from tensormesh_server.store.models import ApiKey, User

from . import activities
from .activities import Actor

MAX_NAME = 200
MAX_SCOPES = 32


@dataclass(frozen=True)
class KeyGrant:
    """What the gateway needs to know about a valid key."""

    key_id: str
    user_id: str
    expires_at: datetime | None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


def _check_scopes(scopes: Sequence[str] | None) -> list[str]:
    if scopes is None:
        return []
    if len(scopes) > MAX_SCOPES or any(not isinstance(s, str) or not s for s in scopes):
        raise invalid_argument(f"scopes must be at most {MAX_SCOPES} non-empty strings")
    return list(dict.fromkeys(scopes))


def create_key(
    session: Session,
    actor: Actor,
    owner: User,
    *,
    now: datetime,
    name: str | None = None,
    scopes: Sequence[str] | None = None,
    expires_at: datetime | None = None,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key for `owner`; returns the row and the secret (which is not stored).
    `requests_per_minute` / `tokens_per_minute`: the key's rate limits (None: unlimited)."""
    for what, limit in (("requests", requests_per_minute), ("tokens", tokens_per_minute)):
        if limit is not None and limit < 1:
            raise invalid_argument(f"the {what} per minute limit must be at least 1")
    if name is not None and len(name) > MAX_NAME:
        raise invalid_argument(f"name must be at most {MAX_NAME} characters")
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=timezone.utc)
    if expires_at is not None and expires_at <= now:
        raise invalid_argument("expiresAt must be in the future")
    secret = new_api_key()
    key = ApiKey(
        user_id=owner.id,
        name=name or "",
        scopes=_check_scopes(scopes),
        key_hash=digest(secret),
        prefix=key_prefix(secret),
        created_at=now,
        expires_at=expires_at,
        rate_limit_rpm=requests_per_minute,
        rate_limit_tpm=tokens_per_minute,
    )
    session.add(key)
    session.flush()
    activities.record(
        session,
        actor,
        "api_key.create",
        resource_type="api_key",
        resource_id=key.id,
        user_id=owner.id,
        now=now,
        description=f"created API key {key.prefix}… for {owner.email}",
        metadata={"name": key.name, "prefix": key.prefix, "scopes": key.scopes},
    )
    return key, secret


def list_keys(session: Session, owner: User, *, include_deleted: bool = False) -> list[ApiKey]:
    """The keys of `owner`, newest first."""
    query = select(ApiKey).where(ApiKey.user_id == owner.id)
    if not include_deleted:
        query = query.where(ApiKey.deleted_at.is_(None))
    return list(session.scalars(query.order_by(ApiKey.created_at.desc(), ApiKey.id)))


def delete_key(session: Session, actor: Actor, owner: User, ref: str, *, now: datetime) -> ApiKey:
    """Delete the key of `owner` named by `ref` (its id, or the key itself); idempotent."""
    if not ref:
        raise invalid_argument("apiKey (the key's id or the key itself) is required")
    column = ApiKey.key_hash if looks_like_api_key(ref) else ApiKey.id
    value = digest(ref) if looks_like_api_key(ref) else ref
    key = session.scalar(select(ApiKey).where(column == value, ApiKey.user_id == owner.id))
    if key is None:
        raise not_found("API key not found")
    if key.deleted_at is None:
        key.deleted_at = now
        activities.record(
            session,
            actor,
            "api_key.delete",
            resource_type="api_key",
            resource_id=key.id,
            user_id=owner.id,
            now=now,
            description=f"deleted API key {key.prefix}… of {owner.email}",
            metadata={"name": key.name, "prefix": key.prefix},
        )
    return key


def find_grant(session: Session, key_hash: str, now: datetime) -> KeyGrant | None:
    """The grant of a key that is neither deleted nor expired, by its digest."""
    key = session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.deleted_at.is_(None))
    )
    if key is None or (key.expires_at is not None and key.expires_at <= now):
        return None
    return KeyGrant(key.id, key.user_id, key.expires_at, key.rate_limit_rpm, key.rate_limit_tpm)


def mark_used(session: Session, last_used: Mapping[str, datetime]) -> None:
    """Store `lastUsedAt` of several keys at once (written lazily, off the request path)."""
    for key_id, when in last_used.items():
        session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))
