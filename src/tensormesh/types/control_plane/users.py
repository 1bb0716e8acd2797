"""Users and API keys of the Control Plane (API.md §2 "Users and API keys")."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from tensormesh._options import RequestOptions

from ._base import ControlPlaneModel, Timestamp

__all__ = [
    "ApiKey",
    "ApiKeyCreate",
    "ApiKeyCreateParams",
    "ApiKeyDeleteParams",
    "ApiKeyList",
    "ApiKeyListParams",
    "ApiKeyReply",
    "Empty",
    "User",
    "UserReply",
    "UserRole",
    "UserUpdate",
    "UserUpdateParams",
]


class UserRole(str, enum.Enum):
    """What a user may do; admins may act for other users (`userId`)."""

    USER = "USER_ROLE_USER"
    ADMIN = "USER_ROLE_ADMIN"
    SUPER_ADMIN = "USER_ROLE_SUPER_ADMIN"

    def __str__(self) -> str:
        return self.value

    @property
    def is_admin(self) -> bool:
        """True for USER_ROLE_ADMIN and USER_ROLE_SUPER_ADMIN."""
        return self is not UserRole.USER


Role = Annotated["UserRole | str", Field(union_mode="left_to_right")]
"""A role: a `UserRole` when known, else the string as received (newer servers)."""


class Empty(ControlPlaneModel):
    """An empty reply (`{}`); any field a newer server sends is kept."""


class User(ControlPlaneModel):
    """A Control Plane user."""

    id: str = ""
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    user_email: str | None = None
    auth_provider: str | None = None
    avatar_url: str | None = None
    user_role: Role | None = None
    company: str | None = None
    tos_accepted_at: Timestamp | None = None
    created_at: Timestamp | None = None

    @property
    def is_admin(self) -> bool:
        """True when the user's role is an admin role."""
        return isinstance(self.user_role, UserRole) and self.user_role.is_admin


class UserReply(ControlPlaneModel):
    """`{user}`: the reply of GET /auth/profile, GET /v1/users/{userId}, accept-tos."""

    user: User


class UserUpdate(ControlPlaneModel):
    """Body of PUT /v1/users/{userId}: only the fields that are set are sent."""

    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    company: str | None = None


class ApiKey(ControlPlaneModel):
    """An inference API key. `key` (the secret) is only set in the reply to create."""

    id: str = ""
    name: str | None = None
    scopes: list[str] = Field(default_factory=list)
    created_at: Timestamp | None = None
    expires_at: Timestamp | None = None
    deleted_at: Timestamp | None = None
    last_used_at: Timestamp | None = None
    prefix: str | None = None
    key: str | None = Field(default=None, repr=False)
    rate_limit_requests_per_minute: int | None = None
    """Requests per minute this key may send (None: unlimited)."""
    rate_limit_tokens_per_minute: int | None = None
    """Prompt plus completion tokens per minute (None: unlimited)."""


class ApiKeyList(ControlPlaneModel):
    """`{apiKeys[]}`: the reply of GET /v1/users/api-keys (a missing list reads as [])."""

    api_keys: list[ApiKey] = Field(default_factory=list)


class ApiKeyReply(ControlPlaneModel):
    """`{apiKey}`: the reply of POST /v1/users/api-keys (with the secret `key`, shown once)."""

    api_key: ApiKey


class ApiKeyCreate(ControlPlaneModel):
    """Body of POST /v1/users/api-keys."""

    user_id: str | None = None
    name: str | None = None
    scopes: list[str] | None = None
    expires_at: Timestamp | None = None
    requests_per_minute: int | None = Field(default=None, ge=1, alias="rateLimitRequestsPerMinute")
    tokens_per_minute: int | None = Field(default=None, ge=1, alias="rateLimitTokensPerMinute")


class UserUpdateParams(RequestOptions, total=False):
    """Keyword arguments of `users.update` (fields not given are left unchanged)."""

    first_name: str | None
    last_name: str | None
    display_name: str | None
    company: str | None


class ApiKeyListParams(RequestOptions, total=False):
    """Keyword arguments of `users.api_keys.list`."""

    user_id: str | None
    include_deleted: bool | None


class ApiKeyCreateParams(RequestOptions, total=False):
    """Keyword arguments of `users.api_keys.create`."""

    user_id: str | None
    name: str | None
    scopes: Sequence[str] | None
    expires_at: datetime | str | None
    requests_per_minute: int | None
    tokens_per_minute: int | None


class ApiKeyDeleteParams(TypedDict, total=False):
    """Query of DELETE /v1/users/api-keys besides `api_key`."""

    user_id: str | None
