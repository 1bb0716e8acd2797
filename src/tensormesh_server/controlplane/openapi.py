"""The OpenAPI 3.1 document of the Control Plane (`GET /openapi.json`), built from the SDK's
wire models so that the document and the replies cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tensormesh.types.control_plane import (
    ApiKeyCreate,
    ApiKeyList,
    ApiKeyReply,
    CliExchangeRequest,
    CliStart,
    Empty,
    ErrorBody,
    RefreshRequest,
    TokenSet,
    UserReply,
    UserUpdate,
)

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    """One route of the document."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    reply: type[BaseModel] | None
    body: type[BaseModel] | None = None
    query: tuple[tuple[str, str, str], ...] = ()
    """(name, JSON type, description) of the query parameters."""
    secured: bool = True
    extra: dict[int, str] = field(default_factory=dict)


_USER_ID = ("userId", "string", "Act for this user (admins only).")
OPERATIONS = (
    Operation(
        "post",
        "/auth/cli/start",
        "cliLoginStart",
        "Start a CLI browser login",
        "auth",
        CliStart,
        secured=False,
    ),
    Operation(
        "post",
        "/auth/cli/exchange",
        "cliLoginExchange",
        "Exchange an approved login code for tokens (202 while pending)",
        "auth",
        TokenSet,
        body=CliExchangeRequest,
        secured=False,
        extra={
            202: "Not approved yet: poll again after `interval` seconds.",
            403: "The login was denied.",
            404: "Unknown code.",
            429: "Too many unknown codes from this address.",
        },
    ),
    Operation(
        "post",
        "/auth/cli/refresh",
        "cliLoginRefresh",
        "Rotate a refresh token into a new token set",
        "auth",
        TokenSet,
        body=RefreshRequest,
        secured=False,
    ),
    Operation("get", "/auth/profile", "getAuthProfile", "The signed-in user", "users", UserReply),
    Operation("get", "/v1/users/{userId}", "getUser", "One user", "users", UserReply),
    Operation(
        "put",
        "/v1/users/{userId}",
        "updateUser",
        "Update a user's profile",
        "users",
        Empty,
        body=UserUpdate,
    ),
    Operation(
        "post",
        "/v1/users/accept-tos",
        "acceptTos",
        "Accept the terms of service",
        "users",
        UserReply,
    ),
    Operation(
        "get",
        "/v1/users/api-keys",
        "listApiKeys",
        "List inference API keys (no secrets)",
        "api-keys",
        ApiKeyList,
        query=(_USER_ID, ("includeDeleted", "boolean", "Also list deleted keys.")),
    ),
    Operation(
        "post",
        "/v1/users/api-keys",
        "createApiKey",
        "Create an inference API key (the secret is in this reply only)",
        "api-keys",
        ApiKeyReply,
        body=ApiKeyCreate,
    ),
    Operation(
        "delete",
        "/v1/users/api-keys",
        "deleteApiKey",
        "Delete an inference API key by id or by the key itself",
        "api-keys",
        Empty,
        query=(("apiKey", "string", "The key's id, or the key itself."), _USER_ID),
    ),
)


def _json(schema_ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _ref(model: type[BaseModel]) -> str:
    return REF.format(model=model.__name__)


def _operation(op: Operation) -> dict[str, Any]:
    error = _json(_ref(ErrorBody))
    spec: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {
            "200": {"description": "OK", **(_json(_ref(op.reply)) if op.reply else {})},
            "400": {"description": "Invalid argument.", **error},
            **{str(status): {"description": text, **error} for status, text in op.extra.items()},
        },
    }
    if op.secured:
        spec["responses"]["401"] = {
            "description": "A control-plane access token is needed.",
            **error,
        }
        spec["responses"]["403"] = spec["responses"].get(
            "403", {"description": "Permission denied.", **error}
        )
    else:
        spec["security"] = []
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": kind},
        }
        for name, kind, text in op.query
    ]
    if "{userId}" in op.path:
        parameters.insert(
            0, {"name": "userId", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    if parameters:
        spec["parameters"] = parameters
    if op.body is not None:
        spec["requestBody"] = {"required": True, **_json(_ref(op.body))}
    return spec


def document(version: str) -> dict[str, Any]:
    """The whole OpenAPI document."""
    from .openapi_billing import OPERATIONS as BILLING_ROUTES
    from .openapi_operations import OPERATIONS as OPERATIONS_ROUTES

    every = (*OPERATIONS, *OPERATIONS_ROUTES, *BILLING_ROUTES)
    models: set[type[BaseModel]] = {ErrorBody}
    for op in every:
        models.update(m for m in (op.reply, op.body) if m is not None)
    _, schemas = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF,
        by_alias=True,
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in every:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tensormesh Control Plane",
            "version": version,
            "description": "Protobuf-JSON conventions: lowerCamelCase fields, enum strings, "
            "errors `{code, message, details}` with the matching HTTP status.",
        },
        "servers": [{"url": "/"}],
        "security": [{"controlPlaneToken": []}],
        "components": {
            "securitySchemes": {
                "controlPlaneToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A control-plane access token from `tm auth login`.",
                }
            },
            "schemas": schemas.get("$defs", {}),
        },
        "paths": paths,
    }
