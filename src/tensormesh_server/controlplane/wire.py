"""Store rows to the SDK's wire models (`tensormesh.types.control_plane`, defined once there)."""

from __future__ import annotations

from tensormesh.types.control_plane import ApiKey as ApiKeyModel
from tensormesh.types.control_plane import User as UserModel
from tensormesh_server.store.models import ApiKey, User


def user_model(user: User) -> UserModel:
    """The `User` message of a user row."""
    return UserModel(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        display_name=user.display_name,
        user_email=user.email,
        auth_provider=user.auth_provider,
        avatar_url=user.avatar_url,
        user_role=user.role,
        company=user.company,
        tos_accepted_at=user.tos_accepted_at,
        created_at=user.created_at,
    )


def api_key_model(key: ApiKey, secret: str | None = None) -> ApiKeyModel:
    """The `ApiKey` message of a key row; `secret` only in the reply to create."""
    return ApiKeyModel(
        id=key.id,
        name=key.name,
        scopes=list(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        deleted_at=key.deleted_at,
        last_used_at=key.last_used_at,
        prefix=key.prefix,
        key=secret,
        rate_limit_requests_per_minute=key.rate_limit_rpm,
        rate_limit_tokens_per_minute=key.rate_limit_tpm,
    )
