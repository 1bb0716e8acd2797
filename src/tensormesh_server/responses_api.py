"""The Responses API on top of chat completions: request, answer and event-stream translation."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from . import sse
from .errors import APIError

# Fields that mean something to the Responses API and are translated (or dropped) here.
_RESPONSES_ONLY = {
    "input",
    "instructions",
    "max_output_tokens",
    "tools",
    "tool_choice",
    "text",
    "stream",
    "store",
    "metadata",
    "previous_response_id",
    "include",
    "reasoning",
    "truncation",
}


def _text_of(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content if isinstance(p, dict)]
    return "".join(str(p) for p in parts)


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    items = body["input"]
    if isinstance(items, str):
        return [*messages, {"role": "user", "content": items}]
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call":
            call = {
                "id": item.get("call_id", ""),
                "type": "function",
                "function": {"name": item.get("name", ""), "arguments": item.get("arguments", "")},
            }
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output", "")
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id", ""), "content": str(output)}
            )
        else:
            role = item.get("role", "user")
            messages.append(
                {
                    "role": "system" if role == "developer" else role,
                    "content": _text_of(item.get("content")),
                }
            )
    return messages


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function" or "function" in tool:
        return tool
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function" and "name" in choice:
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


def _response_format(text: dict[str, Any]) -> dict[str, Any] | None:
    fmt = text.get("format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    return {"type": fmt.get("type", "text")}


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The chat completions request that does what a (validated) Responses request asks."""
    chat = {k: v for k, v in body.items() if k not in _RESPONSES_ONLY}
    chat["messages"] = _messages(body)
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    if body.get("tools"):
        chat["tools"] = [_tool(t) for t in body["tools"]]
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    if isinstance(body.get("text"), dict):
        fmt = _response_format(body["text"])
        if fmt is not None:
            chat["response_format"] = fmt
    return chat


def usage(chat_usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chat usage with both naming schemes (API.md: chat names plus input/output tokens)."""
    if not isinstance(chat_usage, dict):
        return None
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    completion = int(chat_usage.get("completion_tokens") or 0)
    details = chat_usage.get("prompt_tokens_details")
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "input_tokens": prompt,
        "output_tokens": completion,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens_details": {"reasoning_tokens": 0},
    }


def new_response_id() -> str:
    """A `resp_…` id."""
    return "resp_" + secrets.token_hex(12)


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _call_item(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    return {
        "id": "fc_" + secrets.token_hex(8),
        "type": "function_call",
        "call_id": call.get("id") or "call_" + secrets.token_hex(8),
        "name": function.get("name", ""),
        "arguments": function.get("arguments", ""),
        "status": "completed",
    }


class ResponseBuilder:
    """Builds the `response` object of one Responses request."""

    def __init__(self, body: dict[str, Any], model: str) -> None:
        self.id = new_response_id()
        self.created_at = int(time.time())
        self.model = model
        self.body = body
        self.message_id = "msg_" + secrets.token_hex(12)
        self.chat_usage: dict[str, Any] | None = None
        """The engine's usage, once a stream has reported it."""

    def response(
        self,
        status: str,
        output: list[dict[str, Any]],
        chat_usage: dict[str, Any] | None = None,
        incomplete: str | None = None,
    ) -> dict[str, Any]:
        """The `response` object in a given state."""
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "model": self.model,
            "status": status,
            "incomplete_details": {"reason": incomplete} if incomplete else None,
            "instructions": self.body.get("instructions"),
            "max_output_tokens": self.body.get("max_output_tokens"),
            "temperature": self.body.get("temperature"),
            "top_p": self.body.get("top_p"),
            "tools": self.body.get("tools") or [],
            "tool_choice": self.body.get("tool_choice", "auto"),
            "parallel_tool_calls": True,
            "text": self.body.get("text") or {"format": {"type": "text"}},
            "metadata": self.body.get("metadata") or {},
            "output": output,
            "usage": usage(chat_usage),
            "error": None,
        }

    def output(self, text: str, tool_calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Output items: the assistant message (if any text) and function calls."""
        items = (
            [_message_item(self.message_id, text, "completed")] if text or not tool_calls else []
        )
        return items + [_call_item(call) for call in tool_calls]

    def from_chat(self, chat: dict[str, Any]) -> dict[str, Any]:
        """The finished response for a chat completion answer."""
        choice = (chat.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        finish = choice.get("finish_reason")
        output = self.output(message.get("content") or "", message.get("tool_calls") or [])
        status, reason = (
            ("incomplete", "max_output_tokens") if finish == "length" else ("completed", None)
        )
        return self.response(status, output, chat.get("usage"), reason)


async def stream_events(
    builder: ResponseBuilder, chunks: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """Translate a chat completion chunk stream into Responses SSE events, ended by [DONE]."""
    sequence = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal sequence
        sequence += 1
        return sse.encode({"type": kind, "sequence_number": sequence - 1, **fields}, kind)

    yield event("response.created", response=builder.response("in_progress", []))
    yield event("response.in_progress", response=builder.response("in_progress", []))
    item = _message_item(builder.message_id, "", "in_progress")
    item["content"] = []
    yield event("response.output_item.added", output_index=0, item=item)
    part = {"type": "output_text", "text": "", "annotations": []}
    yield event(
        "response.content_part.added",
        item_id=builder.message_id,
        output_index=0,
        content_index=0,
        part=part,
    )
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    chat_usage: dict[str, Any] | None = None
    finish: str | None = None
    async for data in sse.data_events(chunks):
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        if "error" in chunk:
            error = (
                chunk["error"]
                if isinstance(chunk["error"], dict)
                else {"message": str(chunk["error"])}
            )
            raise APIError(502, str(error.get("message", "engine error")), type="upstream_error")
        chat_usage = chunk.get("usage") or chat_usage
        builder.chat_usage = chat_usage
        for choice in chunk.get("choices") or []:
            finish = choice.get("finish_reason") or finish
            delta = choice.get("delta") or {}
            if delta.get("content"):
                text.append(delta["content"])
                yield event(
                    "response.output_text.delta",
                    item_id=builder.message_id,
                    output_index=0,
                    content_index=0,
                    delta=delta["content"],
                    logprobs=[],
                )
            for call in delta.get("tool_calls") or []:
                _merge_call(calls, call)
    full = "".join(text)
    yield event(
        "response.output_text.done",
        item_id=builder.message_id,
        output_index=0,
        content_index=0,
        text=full,
        logprobs=[],
    )
    part["text"] = full
    yield event(
        "response.content_part.done",
        item_id=builder.message_id,
        output_index=0,
        content_index=0,
        part=part,
    )
    yield event(
        "response.output_item.done",
        output_index=0,
        item=_message_item(builder.message_id, full, "completed"),
    )
    call_items = [_call_item(calls[index]) for index in sorted(calls)]
    for index, call_item in enumerate(call_items, start=1):
        yield event("response.output_item.done", output_index=index, item=call_item)
    output = [_message_item(builder.message_id, full, "completed"), *call_items]
    status, reason = (
        ("incomplete", "max_output_tokens") if finish == "length" else ("completed", None)
    )
    # Always `response.completed` (API.md); a cut-off answer says so in its `status`.
    yield event("response.completed", response=builder.response(status, output, chat_usage, reason))
    yield sse.DONE


def _merge_call(calls: dict[int, dict[str, Any]], delta: dict[str, Any]) -> None:
    index = int(delta.get("index", 0))
    call = calls.setdefault(index, {"id": "", "function": {"name": "", "arguments": ""}})
    if delta.get("id"):
        call["id"] = delta["id"]
    function = delta.get("function") or {}
    call["function"]["name"] += function.get("name") or ""
    call["function"]["arguments"] += function.get("arguments") or ""
