"""Minimal ASGI plumbing for the hot path: the request, JSON answers, disconnect watching."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .errors import APIError, bad_request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
EVENT_STREAM = b"text/event-stream"
MAX_REQUEST_ID = 200
MAX_BODY_BYTES = 32 * 1024 * 1024


class Request:
    """One HTTP request: what the handlers need, read once from the scope."""

    __slots__ = (
        "authorization",
        "finished",
        "receive",
        "request_id",
        "response_headers",
        "send",
        "started",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.receive = receive
        self.send = send
        self.authorization: str | None = None
        request_id: str | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                self.authorization = value.decode("latin-1")
            elif name == b"x-request-id" and 0 < len(value) <= MAX_REQUEST_ID:
                request_id = value.decode("latin-1")
        self.request_id = request_id or "req_" + secrets.token_hex(12)
        self.started = False
        self.finished = False
        self.response_headers: dict[str, str] | None = None
        """Headers added to whatever response this request gets (e.g. `x-ratelimit-*`)."""

    async def body(self) -> bytes:
        """The whole request body."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise asyncio.CancelledError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise APIError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def json_object(self) -> dict[str, Any]:
        """The body parsed as a JSON object (400 otherwise)."""
        raw = await self.body()
        try:
            body = json.loads(raw)
        except ValueError:
            raise bad_request("the request body is not valid JSON", None, "invalid_json") from None
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object", None, "invalid_json")
        return body

    def _headers(
        self, content_type: bytes, extra: dict[str, str] | None
    ) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", content_type),
            (b"x-request-id", self.request_id.encode("latin-1")),
        ]
        if self.response_headers:
            extra = {**self.response_headers, **(extra or {})}
        if extra:
            headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items())
        return headers

    async def start(
        self, status: int, content_type: bytes, extra: dict[str, str] | None = None
    ) -> None:
        """Send the status line and headers of a streamed response."""
        self.started = True
        headers = self._headers(content_type, extra)
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def chunk(self, data: bytes) -> None:
        """Send part of a streamed body."""
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self, data: bytes = b"") -> None:
        """Send the last part of the body."""
        self.finished = True
        await self.send({"type": "http.response.body", "body": data})

    async def respond(
        self,
        status: int,
        body: bytes,
        content_type: bytes = JSON,
        extra: dict[str, str] | None = None,
    ) -> None:
        """Send a whole response."""
        self.started = True
        headers = self._headers(content_type, extra)
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.end(body)

    async def respond_json(self, status: int, data: Any) -> None:
        """Send a JSON response."""
        await self.respond(status, json.dumps(data).encode())

    async def respond_error(self, error: APIError) -> None:
        """Send an OpenAI-shaped error."""
        await self.respond(error.status, error.encode(), extra=error.headers)


async def cancel_on_disconnect(request: Request, work: Awaitable[None]) -> None:
    """Run `work`; if the client goes away first, cancel it (closing any upstream request)."""
    task = asyncio.current_task()
    disconnected = False

    async def watch() -> None:
        nonlocal disconnected
        message = await request.receive()
        if message["type"] == "http.disconnect" and not request.finished and task is not None:
            disconnected = True
            task.cancel()

    watcher = asyncio.ensure_future(watch())
    try:
        await work
    except asyncio.CancelledError:
        if not disconnected:
            raise
    finally:
        watcher.cancel()
