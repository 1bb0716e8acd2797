"""The Responses API subset: request parameters, the response and its stream events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field
from typing_extensions import Required

from tensormesh._options import RequestOptions

from ._base import TensormeshModel
from .shared import Usage

__all__ = [
    "Response",
    "ResponseCompletedEvent",
    "ResponseContent",
    "ResponseCreateParams",
    "ResponseCreatedEvent",
    "ResponseOutputItem",
    "ResponseStreamEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "parse_response_event",
]


class ResponseContent(TensormeshModel):
    """A content part of an output message, e.g. `{type: "output_text", text}`."""

    type: str = "output_text"
    text: str = ""
    annotations: list[Any] = Field(default_factory=list)


class ResponseOutputItem(TensormeshModel):
    """An output item: a `message` (role, content) or a `function_call` (call_id, name,
    arguments)."""

    type: str = "message"
    id: str | None = None
    status: str | None = None
    role: str | None = None
    content: list[ResponseContent] = Field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None


class Response(TensormeshModel):
    """A response object (`object: "response"`)."""

    id: str = ""
    object: str = "response"
    created_at: int = 0
    model: str = ""
    status: str | None = None
    output: list[ResponseOutputItem] = Field(default_factory=list)
    usage: Usage | None = None

    @property
    def output_text(self) -> str:
        """All `output_text` parts of the output messages, joined."""
        return "".join(
            part.text
            for item in self.output
            if item.type == "message"
            for part in item.content
            if part.type == "output_text"
        )


class ResponseStreamEvent(TensormeshModel):
    """A Responses stream event; the subclasses below are chosen by `type`."""

    type: str = ""


class ResponseCreatedEvent(ResponseStreamEvent):
    response: Response


class ResponseTextDeltaEvent(ResponseStreamEvent):
    delta: str = ""
    item_id: str | None = None
    output_index: int = 0
    content_index: int = 0


class ResponseTextDoneEvent(ResponseStreamEvent):
    text: str = ""
    item_id: str | None = None
    output_index: int = 0
    content_index: int = 0


class ResponseCompletedEvent(ResponseStreamEvent):
    response: Response


_EVENT_TYPES: dict[str, type[ResponseStreamEvent]] = {
    "response.created": ResponseCreatedEvent,
    "response.in_progress": ResponseCreatedEvent,
    "response.output_text.delta": ResponseTextDeltaEvent,
    "response.output_text.done": ResponseTextDoneEvent,
    "response.completed": ResponseCompletedEvent,
}


def parse_response_event(data: Mapping[str, Any], event_name: str) -> ResponseStreamEvent:
    """The typed event for decoded JSON `data` (its `type`, else the SSE event name)."""
    kind = data.get("type") or event_name
    return _EVENT_TYPES.get(str(kind), ResponseStreamEvent).model_validate(data)


class ResponseCreateParams(RequestOptions, total=False):
    """Keyword arguments of `responses.create` (API.md §1); unset ones are not sent."""

    model: Required[str]
    input: Required[str | Iterable[Mapping[str, Any] | TensormeshModel]]
    instructions: str | None
    max_output_tokens: int | None
    temperature: float | None
    top_p: float | None
    tools: Iterable[Mapping[str, Any]] | None
    tool_choice: str | Mapping[str, Any] | None
    text: Mapping[str, Any] | None
    user: str | None
    metadata: Mapping[str, str] | None
