"""Inference API key checks behind a small interface (database keys replace it later)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .errors import APIError
from .limits.base import UNLIMITED, KeyLimits
from .tokens import looks_like_control_plane_token

_NEEDS_KEY = (
    "An inference API key is needed: send `Authorization: Bearer <inference API key>` "
    "(set TENSORMESH_INFERENCE_API_KEY for the SDK and `tm`)."
)
_WRONG_KEY = "Invalid inference API key. " + _NEEDS_KEY
_CP_TOKEN = (
    "A control-plane access token was sent to the serverless inference surface; "
    "it needs an inference API key instead. " + _NEEDS_KEY
)


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the key's id and its user (None for the operator's static keys)."""

    key_id: str
    user_id: str | None = None
    limits: KeyLimits = UNLIMITED
    """The key's rate limits (cached with the key; unlimited for static keys)."""


class KeyVerifier(Protocol):
    """Decides whether a presented inference key may call the serverless surface."""

    async def verify(self, key: str) -> bool:
        """True when `key` is a valid inference API key."""
        ...

    async def identify(self, key: str) -> Caller | None:
        """The caller of a valid `key`, else None."""
        ...


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class StaticKeyVerifier:
    """Keys from settings, kept only as SHA-256 digests and compared in constant time."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = tuple(_digest(key) for key in keys)

    async def verify(self, key: str) -> bool:
        """True when `key` matches one of the configured keys."""
        return await self.identify(key) is not None

    async def identify(self, key: str) -> Caller | None:
        """A caller without a user (`static:` + the digest's start) when `key` matches."""
        presented = _digest(key)
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(presented, digest)
        return Caller("static:" + presented.hex()[:12]) if found else None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def authenticate(verifier: KeyVerifier, authorization: str | None) -> Caller:
    """The caller, or a 401 APIError unless the header carries a valid inference key."""
    token = bearer_token(authorization)
    if token is None:
        raise APIError(401, _NEEDS_KEY, type="authentication_error", code="missing_api_key")
    caller = await verifier.identify(token)
    if caller is not None:
        return caller
    if looks_like_control_plane_token(token):
        raise APIError(401, _CP_TOKEN, type="authentication_error", code="wrong_credential")
    raise APIError(401, _WRONG_KEY, type="authentication_error", code="invalid_api_key")
