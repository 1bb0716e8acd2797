"""The OpenAI error shape of the serverless surface and the exception that carries it."""

from __future__ import annotations

import json
from typing import Any


class APIError(Exception):
    """An error that becomes an HTTP response `{"error": {message, type, param, code}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON object sent to the client."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def encode(self) -> bytes:
        """The JSON body as bytes."""
        return json.dumps(self.body()).encode()


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    """A 400 `invalid_request_error`."""
    return APIError(400, message, param=param, code=code)


def upstream_unavailable(message: str) -> APIError:
    """A 503 for an engine that cannot be reached."""
    return APIError(503, message, type="service_unavailable", code="upstream_unavailable")
