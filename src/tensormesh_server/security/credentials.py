"""Credentials of the platform: generation, prefixes, SHA-256 digests, constant-time checks.

Inference API keys `tm_sk_…`, control-plane access tokens `tmcp_…` and refresh tokens `tmrt_…`
carry 256 random bits, so a plain SHA-256 digest is a safe way to store them; only digests are
ever written to the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from tensormesh_server.tokens import CONTROL_PLANE_TOKEN_PREFIX, INFERENCE_KEY_PREFIX

REFRESH_TOKEN_PREFIX = "tmrt_"
"""Refresh tokens start with this."""

SESSION_TOKEN_BYTES = 32
KEY_DISPLAY_PREFIX_LENGTH = 12
"""How many leading characters of an API key are kept (in clear) to recognise it in lists."""


def digest(secret: str) -> str:
    """The hex SHA-256 digest under which a high-entropy secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def new_api_key() -> str:
    """A fresh inference API key."""
    return INFERENCE_KEY_PREFIX + secrets.token_urlsafe(32)


def new_access_token() -> str:
    """A fresh control-plane access token."""
    return CONTROL_PLANE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_refresh_token() -> str:
    """A fresh refresh token."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    """A browser session or CSRF token."""
    return secrets.token_urlsafe(SESSION_TOKEN_BYTES)


def key_prefix(key: str) -> str:
    """The part of an API key shown in lists (never enough to use it)."""
    return key[:KEY_DISPLAY_PREFIX_LENGTH]


def looks_like_api_key(token: str) -> bool:
    """True when `token` has the shape of an inference API key."""
    return token.startswith(INFERENCE_KEY_PREFIX)


def looks_like_refresh_token(token: str) -> bool:
    """True when `token` has the shape of a refresh token."""
    return token.startswith(REFRESH_TOKEN_PREFIX)
