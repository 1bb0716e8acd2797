"""`GET/POST/DELETE /v1/users/api-keys`: list without secrets, create (secret shown once),
delete by id or by the key itself; `userId` lets an admin act for another user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.control_plane import ApiKeyCreate, ApiKeyList, ApiKeyReply, Empty
from tensormesh_server.controlplane.services import api_keys, users
from tensormesh_server.controlplane.services.activities import Actor
from tensormesh_server.controlplane.wire import api_key_model
from tensormesh_server.store.models import User

from .common import as_user, flag, json_object, parse, reply

PATH = "/v1/users/api-keys"


def _query(request: Request, camel: str, snake: str) -> str | None:
    return request.query_params.get(camel, request.query_params.get(snake))


async def list_keys(request: Request) -> Response:
    """The keys of the caller (or of `userId`), never with their secrets."""
    user_id = _query(request, "userId", "user_id")
    include_deleted = flag(_query(request, "includeDeleted", "include_deleted"))

    def run(session: Session, actor: User, _now: datetime) -> ApiKeyList:
        owner = users.resolve_target(session, actor, user_id)
        rows = api_keys.list_keys(session, owner, include_deleted=include_deleted)
        return ApiKeyList(api_keys=[api_key_model(row) for row in rows])

    return reply(await as_user(request, run))


async def create_key(request: Request) -> Response:
    """A new key; the reply is the only place its secret ever appears."""
    body = parse(ApiKeyCreate, await json_object(request))

    def run(session: Session, actor: User, now: datetime) -> ApiKeyReply:
        owner = users.resolve_target(session, actor, body.user_id)
        row, secret = api_keys.create_key(
            session,
            Actor.of_user(actor),
            owner,
            now=now,
            name=body.name,
            scopes=body.scopes,
            expires_at=body.expires_at,
            requests_per_minute=body.requests_per_minute,
            tokens_per_minute=body.tokens_per_minute,
        )
        return ApiKeyReply(api_key=api_key_model(row, secret))

    return reply(await as_user(request, run))


async def delete_key(request: Request) -> Response:
    """Delete a key named by its id or by the key itself (`apiKey`)."""
    ref = _query(request, "apiKey", "api_key") or ""
    user_id = _query(request, "userId", "user_id")
    if not ref and request.headers.get("content-length", "0") != "0":
        body = await json_object(request)
        ref = str(body.get("apiKey", body.get("api_key", "")) or "")
        user_id = user_id or body.get("userId", body.get("user_id"))

    def run(session: Session, actor: User, now: datetime) -> Empty:
        owner = users.resolve_target(session, actor, user_id)
        api_keys.delete_key(session, Actor.of_user(actor), owner, ref, now=now)
        return Empty()

    return reply(await as_user(request, run))


routes = [
    Route(PATH, list_keys, methods=["GET"]),
    Route(PATH, create_key, methods=["POST"]),
    Route(PATH, delete_key, methods=["DELETE"]),
]
