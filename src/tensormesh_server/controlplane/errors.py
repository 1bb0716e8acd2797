"""Control Plane errors: protobuf-JSON `{code, message, details}` with the matching HTTP status.

`DATABASE_ERRORS` are the exceptions of a database that cannot be reached (connection refused
or lost, pool exhausted): the app answers them with `database_unavailable` (503 UNAVAILABLE
with Retry-After), not a 500 with a traceback in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tensormesh.types.control_plane import ErrorBody
from tensormesh_server.store.database import error_reason

logger = logging.getLogger("tensormesh_server.controlplane")

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
)
"""What a database that is down, restarting or out of reach raises."""
DATABASE_RETRY_AFTER_SECONDS = 1


class CPError(Exception):
    """An error that becomes an HTTP response with a protobuf-style error body."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON object sent to the client."""
        return ErrorBody.for_status(self.status, self.message).to_wire()


def invalid_argument(message: str) -> CPError:
    """400 INVALID_ARGUMENT."""
    return CPError(400, message)


def unauthenticated(message: str) -> CPError:
    """401 UNAUTHENTICATED."""
    return CPError(401, message)


def permission_denied(message: str) -> CPError:
    """403 PERMISSION_DENIED."""
    return CPError(403, message)


def not_found(message: str) -> CPError:
    """404 NOT_FOUND."""
    return CPError(404, message)


def already_exists(message: str) -> CPError:
    """409 ALREADY_EXISTS."""
    return CPError(409, message)


def too_many_attempts(retry_after: int) -> CPError:
    """429 RESOURCE_EXHAUSTED with Retry-After."""
    return CPError(
        429,
        f"too many attempts; try again in {retry_after} s",
        headers={"retry-after": str(retry_after)},
    )


def database_unavailable() -> CPError:
    """503 UNAVAILABLE with Retry-After: the database cannot be reached right now."""
    return CPError(
        503,
        "the database is unavailable; try again shortly",
        headers={"retry-after": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def database_error_response(request: Request, exc: Exception) -> Response:
    """The Starlette handler of `DATABASE_ERRORS`: one log line (no traceback), then the 503."""
    logger.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, error_reason(exc)
    )
    error = database_unavailable()
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
