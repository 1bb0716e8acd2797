"""The Control Plane ASGI application: routes, protobuf-JSON errors, request ids, access log."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tensormesh import __version__
from tensormesh.types.control_plane import ErrorBody
from tensormesh_server.asgi import Receive, Scope, Send

from . import openapi
from .context import ControlPlaneContext
from .errors import DATABASE_ERRORS, CPError, database_error_response
from .routes import api_keys, auth, login_page, users
from .routes import operations as operations_routes
from .routes.admin_billing import routes as admin_billing_routes
from .routes.billing import routes as billing_routes

logger = logging.getLogger("tensormesh_server.controlplane")

MAX_BODY_BYTES = 1024 * 1024
MAX_REQUEST_ID = 200


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = ErrorBody.for_status(status, message).to_wire()
    return JSONResponse(body, status_code=status, headers=headers)


async def _cp_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CPError)
    return _error(exc.status, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    elif exc.status_code == 413:
        message = f"the request body is larger than {MAX_BODY_BYTES} bytes"
    else:
        message = str(exc.detail)
    return _error(exc.status_code, message, dict(exc.headers or {}))


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.error(
        "internal error on %s %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return _error(500, "internal server error")


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi.document(__version__))


async def _version(_request: Request) -> Response:
    return JSONResponse({"version": __version__})


class ControlPlaneApp:
    """The Starlette app wrapped with an `x-request-id` on every response and an access log
    (method, path without query, status, time; never a header or a body)."""

    def __init__(self, cp: ControlPlaneContext) -> None:
        self.context = cp
        self.app = Starlette(
            routes=[
                *auth.routes,
                *login_page.routes,
                *api_keys.routes,
                *users.routes,
                *operations_routes.routes,
                *billing_routes,
                *admin_billing_routes,
                Route("/openapi.json", _openapi, methods=["GET"]),
                Route("/version", _version, methods=["GET"]),
            ],
            exception_handlers={
                CPError: _cp_error,
                HTTPException: _http_error,
                **dict.fromkeys(DATABASE_ERRORS, database_error_response),
                Exception: _internal_error,
            },
            max_body_size=MAX_BODY_BYTES,
        )
        self.app.state.cp = cp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        request_id = _request_id(scope)
        began = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)  # type: ignore[arg-type]
        except Exception:
            if not started:  # pragma: no cover - Starlette answers errors itself
                body = json.dumps(ErrorBody.for_status(500, "internal server error").to_wire())
                await _send_500(send_with_id, body.encode())
        finally:
            logger.info(
                "%s %s %d %.1fms %s",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - began) * 1000,
                request_id,
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and 0 < len(value) <= MAX_REQUEST_ID:
            return str(value.decode("latin-1"))
    return "req_" + secrets.token_hex(12)


async def _send_500(send: Any, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(cp: ControlPlaneContext) -> ControlPlaneApp:
    """The Control Plane app over `cp` (database, settings, clocks)."""
    return ControlPlaneApp(cp)
