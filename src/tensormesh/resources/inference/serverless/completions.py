"""`serverless.completions`: POST /v1/completions (typed results and streams)."""

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
from tensormesh.types.completions import Completion, CompletionCreateParams
from tensormesh.types.shared import Usage

__all__ = ["AsyncCompletions", "Completions"]


def _text(chunk: Completion) -> str | None:
    for choice in chunk.choices:
        if choice.index == 0:
            return choice.text
    return None


def _usage(chunk: Completion) -> Usage | None:
    return chunk.usage


COMPLETION_CHUNKS = StreamKind(
    parse=lambda data, _event: Completion.model_validate_json(data),
    text=_text,
    reasoning=lambda _chunk: None,
    usage=_usage,
)
CREATE = Endpoint("POST", "/v1/completions", Completion, stream_kind=COMPLETION_CHUNKS)


class Completions(SyncAPIResource):
    """Text completions."""

    @overload
    def create(
        self, *, stream: Literal[False] = False, **params: Unpack[CompletionCreateParams]
    ) -> Completion: ...
    @overload
    def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> Stream[Completion]: ...
    @overload
    def create(
        self, *, stream: bool, **params: Unpack[CompletionCreateParams]
    ) -> Completion | Stream[Completion]: ...
    def create(
        self, *, stream: bool = False, **params: Unpack[CompletionCreateParams]
    ) -> Completion | Stream[Completion]:
        """Continue `prompt`. With `stream=True`, returns a `Stream` of `Completion` chunks."""
        return self._call(CREATE, params, stream=stream)

    @cached_property
    def with_raw_response(self) -> CompletionsWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return CompletionsWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> CompletionsWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return CompletionsWithStreamingResponse(self)


class AsyncCompletions(AsyncAPIResource):
    """Text completions (async)."""

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[CompletionCreateParams]
    ) -> Completion: ...
    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> AsyncStream[Completion]: ...
    @overload
    async def create(
        self, *, stream: bool, **params: Unpack[CompletionCreateParams]
    ) -> Completion | AsyncStream[Completion]: ...
    async def create(
        self, *, stream: bool = False, **params: Unpack[CompletionCreateParams]
    ) -> Completion | AsyncStream[Completion]:
        """Continue `prompt`; see `Completions.create`."""
        return await self._call(CREATE, params, stream=stream)

    @cached_property
    def with_raw_response(self) -> AsyncCompletionsWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncCompletionsWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncCompletionsWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncCompletionsWithStreamingResponse(self)


class CompletionsWithRawResponse:
    def __init__(self, resource: Completions) -> None:
        self.create = to_raw(resource.create)


class CompletionsWithStreamingResponse:
    def __init__(self, resource: Completions) -> None:
        self.create = to_streamed(resource.create)


class AsyncCompletionsWithRawResponse:
    def __init__(self, resource: AsyncCompletions) -> None:
        self.create = to_async_raw(resource.create)


class AsyncCompletionsWithStreamingResponse:
    def __init__(self, resource: AsyncCompletions) -> None:
        self.create = to_async_streamed(resource.create)
