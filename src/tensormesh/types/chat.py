"""Chat completions: request parameters, responses and stream chunks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator
from typing_extensions import Required, TypedDict

from tensormesh._options import RequestOptions
from tensormesh._think import split_think

from ._base import TensormeshModel
from .shared import StreamOptions, Usage

__all__ = [
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionChunkChoice",
    "ChatCompletionCreateParams",
    "ChatCompletionMessage",
    "ChatMessage",
    "ChoiceDelta",
    "FunctionCall",
    "ToolCall",
]


class FunctionCall(TensormeshModel):
    """The function a tool call invokes and its JSON-encoded arguments."""

    name: str | None = None
    arguments: str | None = None


class ToolCall(TensormeshModel):
    """A tool call made by the assistant (`index` is set in stream deltas)."""

    id: str | None = None
    type: str = "function"
    function: FunctionCall | None = None
    index: int | None = None


class ChatMessage(TensormeshModel):
    """One message of a conversation; plain dicts with the same keys are accepted too."""

    role: str
    content: str | list[Any] | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatCompletionMessage(TensormeshModel):
    """The assistant's message; a leading `<think>…</think>` is moved into `reasoning`."""

    role: str = "assistant"
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None

    @model_validator(mode="after")
    def _move_think(self) -> ChatCompletionMessage:
        if self.content and "<think>" in self.content:
            reasoning, visible = split_think(self.content)
            if reasoning is not None:
                self.content = visible
                self.reasoning = (self.reasoning or "") + reasoning
        return self


class ChatCompletionChoice(TensormeshModel):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletion(TensormeshModel):
    """The reply to a non-streamed chat completion request."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[ChatCompletionChoice] = Field(default_factory=list)
    usage: Usage | None = None


class ChoiceDelta(TensormeshModel):
    """What one stream chunk adds to a choice."""

    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatCompletionChunkChoice(TensormeshModel):
    index: int = 0
    delta: ChoiceDelta = ChoiceDelta()
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(TensormeshModel):
    """One `chat.completion.chunk` of a streamed chat completion."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChatCompletionChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None


class ResponseFormat(TypedDict, total=False):
    type: Required[Literal["text", "json_object", "json_schema"]]
    json_schema: Mapping[str, Any]


class ChatCompletionCreateParams(RequestOptions, total=False):
    """Keyword arguments of `chat.completions.create` (API.md §1); unset ones are not sent."""

    model: Required[str]
    messages: Required[Iterable[ChatMessage | Mapping[str, Any]]]
    stream_options: StreamOptions | None
    temperature: float | None
    top_p: float | None
    max_tokens: int | None
    max_completion_tokens: int | None
    n: int | None
    stop: str | Sequence[str] | None
    seed: int | None
    presence_penalty: float | None
    frequency_penalty: float | None
    logprobs: bool | None
    top_logprobs: int | None
    logit_bias: Mapping[str, float] | None
    user: str | None
    metadata: Mapping[str, str] | None
    response_format: ResponseFormat | Mapping[str, Any] | None
    tools: Iterable[Mapping[str, Any]] | None
    tool_choice: str | Mapping[str, Any] | None
    parallel_tool_calls: bool | None
    top_k: int | None
    min_p: float | None
    typical_p: float | None
    repetition_penalty: float | None
    ignore_eos: bool | None
    reasoning_effort: str | None
