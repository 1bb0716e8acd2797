"""The OpenAPI 3.1 document of the serverless surface (`GET /openapi.json`).

Reply shapes come from the SDK's wire models (`tensormesh.types`), so the document and the
replies cannot drift apart; request bodies name the fields every server checks (API.md §1) and
allow the rest, as the surface does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tensormesh.types import (
    ChatCompletion,
    Completion,
    DetokenizeResponse,
    Health,
    ModelList,
    Response,
    TokenizeResponse,
    Version,
)

REF = "#/components/schemas/{model}"

_MODEL = {"type": "string", "description": "A model id from GET /v1/models."}
_MESSAGES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"role": {"type": "string"}, "content": {"type": "string"}},
        "required": ["role", "content"],
    },
}
_STREAM = {"type": "boolean", "description": "Reply with server-sent events."}
_MAX_TOKENS = {"type": "integer", "minimum": 1}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "integer", "null"]},
            },
            "required": ["message", "type"],
        }
    },
    "required": ["error"],
}
"""`{"error": {"message", "type", "param", "code"}}` (API.md §1)."""


SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "description": "One server-sent event: `data` is a JSON chunk, an error object, or [DONE].",
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
    "required": ["data"],
}


def _body(required: tuple[str, ...], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


@dataclass(frozen=True)
class Operation:
    """One route of the document."""

    method: str
    path: str
    operation_id: str
    summary: str
    reply: type[BaseModel]
    body: dict[str, Any] | None = None
    streams: bool = False
    secured: bool = True


OPERATIONS = (
    Operation(
        "post",
        "/v1/chat/completions",
        "createChatCompletion",
        "Chat completion",
        ChatCompletion,
        _body(
            ("model", "messages"),
            model=_MODEL,
            messages=_MESSAGES,
            stream=_STREAM,
            max_tokens=_MAX_TOKENS,
        ),
        streams=True,
    ),
    Operation(
        "post",
        "/v1/completions",
        "createCompletion",
        "Text completion",
        Completion,
        _body(
            ("model", "prompt"),
            model=_MODEL,
            prompt={"type": "string"},
            stream=_STREAM,
            max_tokens=_MAX_TOKENS,
        ),
        streams=True,
    ),
    Operation(
        "post",
        "/v1/responses",
        "createResponse",
        "Response (OpenAI Responses API)",
        Response,
        _body(
            ("model", "input"),
            model=_MODEL,
            input={"type": "string"},
            stream=_STREAM,
            max_output_tokens=_MAX_TOKENS,
        ),
        streams=True,
    ),
    Operation(
        "post",
        "/tokenize",
        "tokenize",
        "Tokenize a prompt or messages",
        TokenizeResponse,
        _body(("model", "prompt"), model=_MODEL, prompt={"type": "string"}),
    ),
    Operation(
        "post",
        "/detokenize",
        "detokenize",
        "Turn token ids back into text",
        DetokenizeResponse,
        _body(
            ("model", "tokens"),
            model=_MODEL,
            tokens={"type": "array", "items": {"type": "integer", "minimum": 0}},
        ),
    ),
    Operation("get", "/v1/models", "listModels", "The models served", ModelList, secured=False),
    Operation("get", "/health", "health", "200 when a model can serve", Health, secured=False),
    Operation("get", "/version", "version", "The server version", Version, secured=False),
)

PUBLIC_PATHS = ("/openapi.json", "/metrics")
"""Routes outside the document that need no key (the document itself; Prometheus text)."""


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _operation(op: Operation) -> dict[str, Any]:
    error = _json({"$ref": REF.format(model="Error")})
    ok = _json({"$ref": REF.format(model=op.reply.__name__)})
    if op.streams:
        ok["content"]["text/event-stream"] = {"schema": SSE_EVENT}
    spec: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "responses": {"200": {"description": "OK", **ok}},
    }
    if op.secured:
        spec["responses"].update(
            {
                str(status): {"description": text, **error}
                for status, text in (
                    (400, "Invalid request."),
                    (401, "An inference API key is needed."),
                    (402, "Insufficient quota."),
                    (404, "Unknown model."),
                    (413, "Request body too large."),
                    (429, "Rate limited or overloaded."),
                    (503, "The model cannot serve now."),
                )
            }
        )
    else:
        spec["security"] = []
    if op.path == "/health":
        spec["responses"]["503"] = {"description": "No model can serve.", **ok}
    if op.body is not None:
        spec["requestBody"] = {"required": True, **_json(op.body)}
    return spec


def document(version: str) -> dict[str, Any]:
    """The whole OpenAPI document."""
    _, schemas = models_json_schema(
        [(op.reply, "validation") for op in OPERATIONS], ref_template=REF
    )
    components = {**schemas.get("$defs", {}), "Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tensormesh Serverless", "version": version},
        "servers": [{"url": "/"}],
        "security": [{"inferenceApiKey": []}],
        "components": {
            "securitySchemes": {
                "inferenceApiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An inference API key (`tm_sk_...`).",
                }
            },
            "schemas": components,
        },
        "paths": paths,
    }
