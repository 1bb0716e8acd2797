"""Tensormesh Python SDK: `Tensormesh` / `AsyncTensormesh` clients for the Control Plane and the
Serverless inference APIs, typed results (`tensormesh.types`) and errors.

The clients and streams are imported on first use, so `import tensormesh` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    MissingCredentialError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    StreamError,
    TensormeshError,
    UnprocessableEntityError,
)
from ._types import NOT_GIVEN, NotGiven
from ._version import __version__

if TYPE_CHECKING:
    from ._client import AsyncTensormesh, Tensormesh
    from ._config import ClientConfig
    from ._response import AsyncStreamedResponse, RawResponse, StreamedResponse
    from ._streaming import AsyncStream, Stream

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncStream",
    "AsyncStreamedResponse",
    "AsyncTensormesh",
    "AuthenticationError",
    "BadRequestError",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "MissingCredentialError",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RawResponse",
    "Stream",
    "StreamError",
    "StreamedResponse",
    "Tensormesh",
    "TensormeshError",
    "UnprocessableEntityError",
    "__version__",
]

_LAZY = {
    "Tensormesh": "._client",
    "AsyncTensormesh": "._client",
    "ClientConfig": "._config",
    "Stream": "._streaming",
    "AsyncStream": "._streaming",
    "RawResponse": "._response",
    "StreamedResponse": "._response",
    "AsyncStreamedResponse": "._response",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tensormesh' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
