"""Control Plane errors: protobuf-JSON `{code, message, details}` with the matching HTTP status."""

from __future__ import annotations

from typing import Any

from tensormesh.types.control_plane import ErrorBody


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
