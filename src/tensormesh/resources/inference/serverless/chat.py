"""`serverless.chat.completions`: POST /v1/chat/completions (typed results and streams)."""

from __future__ import annotations

from functools import cached_property
from typing import Literal, overload

from typing_extensions import Unpack

from tensormesh._endpoints import Endpoint, StreamKind
from tensormesh._resource import (
    AsyncAPIResource,
    SyncAPIResource,
    to_async_raw,
    to_async_streamed,
    to_raw,
    to_streamed,
)
from tensormesh._streaming import AsyncStream, Stream
from tensormesh.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams
from tensormesh.types.shared import Usage

__all__ = ["AsyncChat", "AsyncChatCompletions", "Chat", "ChatCompletions"]


def _text(chunk: ChatCompletionChunk) -> str | None:
    for choice in chunk.choices:
        if choice.index == 0:
            return choice.delta.content
    return None


def _reasoning(chunk: ChatCompletionChunk) -> str | None:
    for choice in chunk.choices:
        if choice.index == 0:
            return choice.delta.reasoning
    return None


def _usage(chunk: ChatCompletionChunk) -> Usage | None:
    return chunk.usage


CHAT_CHUNKS = StreamKind(
    parse=lambda data, _event: ChatCompletionChunk.model_validate_json(data),
    text=_text,
    reasoning=_reasoning,
    usage=_usage,
)
CREATE = Endpoint("POST", "/v1/chat/completions", ChatCompletion, stream_kind=CHAT_CHUNKS)


class ChatCompletions(SyncAPIResource):
    """Chat completions."""

    @overload
    def create(
        self, *, stream: Literal[False] = False, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion: ...
    @overload
    def create(
        self, *, stream: Literal[True], **params: Unpack[ChatCompletionCreateParams]
    ) -> Stream[ChatCompletionChunk]: ...
    @overload
    def create(
        self, *, stream: bool, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...
    def create(
        self, *, stream: bool = False, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Generate the next assistant message for `messages` (dicts or `ChatMessage`s).

        With `stream=True`, returns a `Stream` of `ChatCompletionChunk`s (see
        `Stream.text_deltas()`, `.usage`). Parameters not given are not sent.
        """
        return self._call(CREATE, params, stream=stream)

    @cached_property
    def with_raw_response(self) -> ChatCompletionsWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return ChatCompletionsWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> ChatCompletionsWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return ChatCompletionsWithStreamingResponse(self)


class AsyncChatCompletions(AsyncAPIResource):
    """Chat completions (async)."""

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion: ...
    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[ChatCompletionCreateParams]
    ) -> AsyncStream[ChatCompletionChunk]: ...
    @overload
    async def create(
        self, *, stream: bool, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...
    async def create(
        self, *, stream: bool = False, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Generate the next assistant message; see `ChatCompletions.create`."""
        return await self._call(CREATE, params, stream=stream)

    @cached_property
    def with_raw_response(self) -> AsyncChatCompletionsWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncChatCompletionsWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncChatCompletionsWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncChatCompletionsWithStreamingResponse(self)


class ChatCompletionsWithRawResponse:
    def __init__(self, resource: ChatCompletions) -> None:
        self.create = to_raw(resource.create)


class ChatCompletionsWithStreamingResponse:
    def __init__(self, resource: ChatCompletions) -> None:
        self.create = to_streamed(resource.create)


class AsyncChatCompletionsWithRawResponse:
    def __init__(self, resource: AsyncChatCompletions) -> None:
        self.create = to_async_raw(resource.create)


class AsyncChatCompletionsWithStreamingResponse:
    def __init__(self, resource: AsyncChatCompletions) -> None:
        self.create = to_async_streamed(resource.create)


class Chat(SyncAPIResource):
    """The chat namespace."""

    @cached_property
    def completions(self) -> ChatCompletions:
        return ChatCompletions(self._transport)


class AsyncChat(AsyncAPIResource):
    """The chat namespace (async)."""

    @cached_property
    def completions(self) -> AsyncChatCompletions:
        return AsyncChatCompletions(self._transport)
