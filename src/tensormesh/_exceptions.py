"""The SDK's exception hierarchy; every error has a one-line, human `str()`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "MissingCredentialError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "StreamError",
    "TensormeshError",
    "UnprocessableEntityError",
]

_MAX_MESSAGE = 400


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """Collapse whitespace (newlines included) and shorten `text` to at most `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class TensormeshError(Exception):
    """Base class of every error the SDK raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return one_line(self.message)


class ConfigurationError(TensormeshError):
    """A setting (argument or environment variable) has a value the SDK cannot use."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class MissingCredentialError(ConfigurationError):
    """A call needs a credential (API key or access token) that was not configured."""


class APIError(TensormeshError):
    """Something went wrong while talking to a Tensormesh API."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id

    def __str__(self) -> str:
        text = one_line(self.message)
        return f"{text} (request id: {self.request_id})" if self.request_id else text


class ProtocolError(APIError):
    """The server answered with something that does not follow the API (e.g. invalid JSON)."""


class StreamError(APIError):
    """A streamed response failed after it started: an error event or a broken connection."""

    def __init__(
        self, message: str, *, request_id: str | None = None, body: object | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.body = body


class APIConnectionError(APIError):
    """The server could not be reached, or the connection failed before a response arrived."""


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, sending, or waiting for data)."""


class APIStatusError(APIError):
    """The server answered with an HTTP error status (4xx or 5xx)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        body: object | None = None,
        response: httpx2.Response | None = None,
        code: str | int | None = None,
        type: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.body = body
        self.response = response
        self.code = code
        self.type = type
        self.param = param

    def __str__(self) -> str:
        reason = _reason_phrase(self.status_code)
        text = one_line(self.message)
        head = f"{self.status_code} {reason}".strip()
        line = head if not text or text == reason else f"{head}: {text}"
        return f"{line} (request id: {self.request_id})" if self.request_id else line


class BadRequestError(APIStatusError):
    """400: the request is invalid."""


class AuthenticationError(APIStatusError):
    """401: the credential is missing, wrong, or meant for the other surface."""


class PermissionDeniedError(APIStatusError):
    """403: the credential is valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: no such route, model or resource."""


class ConflictError(APIStatusError):
    """409: the resource already exists or changed meanwhile."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests, or the server is overloaded."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


def _reason_phrase(status_code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


def parse_error_body(content: bytes) -> tuple[object | None, dict[str, Any]]:
    """Decode an error body; return (decoded body, fields: message, code, type, param).

    Understands the OpenAI shape `{"error": {"message", "type", "param", "code"}}`, the
    protobuf-JSON shape `{"code", "message", "details"}` and `{"detail": ...}`; any other body
    gives its text as the message.
    """
    text = content.decode("utf-8", "replace").strip()
    try:
        body: object = json.loads(text) if text else None
    except ValueError:
        return (text or None), {"message": text}
    fields: dict[str, Any] = {}
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            fields = {k: inner.get(k) for k in ("message", "code", "type", "param")}
        elif isinstance(inner, str):
            fields = {"message": inner}
        elif "message" in body:
            fields = {"message": body.get("message"), "code": body.get("code")}
        elif "detail" in body:
            fields = {"message": body["detail"]}
        elif "status" in body:
            fields = {"message": f"status: {body['status']}"}
    if not isinstance(fields.get("message"), str):
        fields["message"] = json.dumps(fields["message"]) if fields.get("message") else text
    return body, fields


def make_status_error(
    status_code: int,
    content: bytes,
    *,
    request_id: str | None,
    response: httpx2.Response | None = None,
) -> APIStatusError:
    """Build the exception for an HTTP error response from its status and body."""
    body, fields = parse_error_body(content)
    message = fields.pop("message") or _reason_phrase(status_code)
    code = fields.get("code")
    return status_error_class(status_code)(
        message,
        status_code=status_code,
        request_id=request_id,
        body=body,
        response=response,
        code=code if isinstance(code, (str, int)) else None,
        type=fields.get("type") if isinstance(fields.get("type"), str) else None,
        param=fields.get("param") if isinstance(fields.get("param"), str) else None,
    )
