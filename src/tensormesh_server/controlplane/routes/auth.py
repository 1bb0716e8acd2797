"""`/auth/cli/start`, `/auth/cli/exchange`, `/auth/cli/refresh` (no auth) and `/auth/profile`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tensormesh.types.control_plane import (
    CliExchangeRequest,
    CliStart,
    RefreshRequest,
    TokenSet,
    UserReply,
)
from tensormesh_server.controlplane.errors import CPError, too_many_attempts, unauthenticated
from tensormesh_server.controlplane.services import logins, tokens
from tensormesh_server.controlplane.wire import user_model
from tensormesh_server.store.models import User

from .common import as_user, client_ip, context, in_transaction, json_object, parse, reply

AUTHORIZE_PATH = "/auth/cli/authorize"
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _tokens_reply(token_set: TokenSet) -> Response:
    data = token_set.model_dump(mode="json", exclude_none=True)
    return JSONResponse(data, headers=_NO_STORE)


def _snake_or_camel(body: dict[str, Any], name: str, camel: str) -> dict[str, Any]:
    if name not in body and camel in body:
        return {**body, name: body[camel]}
    return body


def public_base(request: Request) -> str:
    """The base URL the browser should open (configured, or the one this request came to)."""
    configured = context(request).config.public_url
    return (configured or str(request.base_url)).rstrip("/")


async def start(request: Request) -> Response:
    """Create a pending login and tell the CLI where to send the browser."""
    cp = context(request)
    ip = client_ip(request)
    wait = await cp.start_limiter.retry_after(ip)
    if wait is not None:
        raise too_many_attempts(wait)
    await cp.start_limiter.fail(ip)  # every start counts: each one stores a row
    code = await in_transaction(
        request, lambda session, now: logins.start(session, now=now, config=cp.config)
    )
    return reply(
        CliStart(
            auth_url=f"{public_base(request)}{AUTHORIZE_PATH}?code={code}",
            cli_code=code,
            interval=cp.config.poll_interval_seconds,
        ).model_dump(mode="json")
    )


async def exchange(request: Request) -> Response:
    """202 while pending, 200 tokens once approved, 403 denied, 400/404 otherwise."""
    cp = context(request)
    limiter, ip = cp.exchange_limiter, client_ip(request)
    wait = await limiter.retry_after(ip)
    if wait is not None:
        raise too_many_attempts(wait)
    body = parse(
        CliExchangeRequest,
        _snake_or_camel(await json_object(request, public=True), "cli_code", "cliCode"),
    )

    def run(session: Session, now: datetime) -> logins.ExchangeResult:
        return logins.exchange(session, body.cli_code, now=now, config=cp.config)

    try:
        result = await in_transaction(request, run)
    except CPError as error:
        if error.status in (400, 404):
            await limiter.fail(ip)
        raise
    if result.tokens is None:
        return JSONResponse(
            {"status": "pending", "interval": cp.config.poll_interval_seconds},
            status_code=202,
            headers=_NO_STORE,
        )
    return _tokens_reply(result.tokens)


async def refresh(request: Request) -> Response:
    """Rotate a refresh token (a replayed one is refused and revokes its login)."""
    cp = context(request)
    body = parse(
        RefreshRequest,
        _snake_or_camel(await json_object(request, public=True), "refresh_token", "refreshToken"),
    )

    def run(session: Session, now: datetime) -> TokenSet | None:
        return tokens.refresh(session, body.refresh_token, now=now, config=cp.config)

    token_set = await in_transaction(request, run)
    if token_set is None:
        raise unauthenticated(tokens.REPLAYED)
    return _tokens_reply(token_set)


async def profile(request: Request) -> Response:
    """The user the access token belongs to."""

    def run(_session: Session, user: User, _now: datetime) -> UserReply:
        return UserReply(user=user_model(user))

    return reply(await as_user(request, run))


routes = [
    Route("/auth/cli/start", start, methods=["POST"]),
    Route("/auth/cli/exchange", exchange, methods=["POST"]),
    Route("/auth/cli/refresh", refresh, methods=["POST"]),
    Route("/auth/profile", profile, methods=["GET"]),
]
