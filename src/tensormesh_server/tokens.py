"""Recognisable prefixes of the two credentials (never mix the surfaces)."""

from __future__ import annotations

import secrets

INFERENCE_KEY_PREFIX = "tm_sk_"
"""Inference API keys (serverless surface) start with this."""

CONTROL_PLANE_TOKEN_PREFIX = "tmcp_"
"""Control-plane access tokens start with this."""


def new_inference_key() -> str:
    """A fresh random inference API key."""
    return INFERENCE_KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_control_plane_token(token: str) -> bool:
    """True when `token` has the shape of a control-plane access token."""
    return token.startswith(CONTROL_PLANE_TOKEN_PREFIX)
