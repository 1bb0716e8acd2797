"""Conventions of the Control Plane wire (API.md §2): lowerCamelCase JSON names over snake_case
attributes, RFC 3339 timestamps, enum strings, 64-bit integers as strings, and the
protobuf-style error body `{code, message, details}`."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from tensormesh.types._base import TensormeshModel

__all__ = [
    "ControlPlaneModel",
    "ErrorBody",
    "GrpcCode",
    "Int64",
    "Timestamp",
    "format_timestamp",
    "grpc_code_for_status",
]


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z` suffix (a naive datetime is taken to be UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    text = value.astimezone(timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


Timestamp = Annotated[
    datetime, PlainSerializer(format_timestamp, return_type=str, when_used="json")
]
"""A point in time: RFC 3339 on the wire, an aware `datetime` in Python."""


def _int64_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Int64 = Annotated[str, BeforeValidator(_int64_text)]
"""A 64-bit counter: a decimal string on the wire (protobuf-JSON); ints are accepted."""


class ControlPlaneModel(TensormeshModel):
    """Base of Control Plane shapes: attributes are snake_case, JSON names lowerCamelCase.

    Both names are accepted when reading; `to_wire()` gives the JSON a server sends.
    """

    model_config = ConfigDict(
        extra="allow",
        protected_namespaces=(),
        alias_generator=to_camel,
        populate_by_name=True,
    )

    def to_dict(self) -> dict[str, object]:
        """The fields that were set (or received), with their wire (camelCase) names."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready data with wire names, fields that are None left out (protobuf-JSON)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class GrpcCode(enum.IntEnum):
    """The gRPC status codes used in Control Plane error bodies."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


_CODE_BY_STATUS = {
    400: GrpcCode.INVALID_ARGUMENT,
    401: GrpcCode.UNAUTHENTICATED,
    403: GrpcCode.PERMISSION_DENIED,
    404: GrpcCode.NOT_FOUND,
    409: GrpcCode.ALREADY_EXISTS,
    412: GrpcCode.FAILED_PRECONDITION,
    422: GrpcCode.INVALID_ARGUMENT,
    429: GrpcCode.RESOURCE_EXHAUSTED,
    499: GrpcCode.CANCELLED,
    501: GrpcCode.UNIMPLEMENTED,
    503: GrpcCode.UNAVAILABLE,
    504: GrpcCode.DEADLINE_EXCEEDED,
}


def grpc_code_for_status(status_code: int) -> GrpcCode:
    """The gRPC code that matches an HTTP error status (INTERNAL for other 5xx, UNKNOWN else)."""
    code = _CODE_BY_STATUS.get(status_code)
    if code is not None:
        return code
    return GrpcCode.INTERNAL if status_code >= 500 else GrpcCode.UNKNOWN


class ErrorBody(ControlPlaneModel):
    """A Control Plane error: `{"code": <gRPC code>, "message": "...", "details": []}`."""

    code: int = GrpcCode.UNKNOWN
    message: str = ""
    details: list[Any] = Field(default_factory=list)

    @classmethod
    def for_status(
        cls, status_code: int, message: str, details: list[Any] | None = None
    ) -> ErrorBody:
        """The body to send with an HTTP error status."""
        return cls(
            code=int(grpc_code_for_status(status_code)), message=message, details=details or []
        )
