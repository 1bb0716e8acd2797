"""`serverless.responses`: POST /v1/responses (typed results and event streams)."""

from __future__ import annotations

import json
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
from tensormesh.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreateParams,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    parse_response_event,
)
from tensormesh.types.shared import Usage

__all__ = ["AsyncResponses", "Responses"]


def _parse(data: str, event_name: str) -> ResponseStreamEvent:
    decoded = json.loads(data)
    if not isinstance(decoded, dict):
        raise ValueError("a Responses stream event must be a JSON object")
    return parse_response_event(decoded, event_name)


def _text(event: ResponseStreamEvent) -> str | None:
    return event.delta if isinstance(event, ResponseTextDeltaEvent) else None


def _usage(event: ResponseStreamEvent) -> Usage | None:
    return event.response.usage if isinstance(event, ResponseCompletedEvent) else None


RESPONSE_EVENTS = StreamKind(parse=_parse, text=_text, reasoning=lambda _event: None, usage=_usage)
CREATE = Endpoint("POST", "/v1/responses", Response, stream_kind=RESPONSE_EVENTS)


class Responses(SyncAPIResource):
    """The Responses API (subset)."""

    @overload
    def create(
        self, *, stream: Literal[False] = False, **params: Unpack[ResponseCreateParams]
    ) -> Response: ...
    @overload
    def create(
        self, *, stream: Literal[True], **params: Unpack[ResponseCreateParams]
    ) -> Stream[ResponseStreamEvent]: ...
    @overload
    def create(
        self, *, stream: bool, **params: Unpack[ResponseCreateParams]
    ) -> Response | Stream[ResponseStreamEvent]: ...
    def create(
        self, *, stream: bool = False, **params: Unpack[ResponseCreateParams]
    ) -> Response | Stream[ResponseStreamEvent]:
        """Generate a response to `input`. With `stream=True`, returns a `Stream` of events typed
        by their `type` (`text_deltas()` yields the output text; `.usage` is set at the end)."""
        return self._call(CREATE, params, stream=stream)

    @cached_property
    def with_raw_response(self) -> ResponsesWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return ResponsesWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> ResponsesWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return ResponsesWithStreamingResponse(self)


class AsyncResponses(AsyncAPIResource):
    """The Responses API (subset, async)."""

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[ResponseCreateParams]
    ) -> Response: ...
    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[ResponseCreateParams]
    ) -> AsyncStream[ResponseStreamEvent]: ...
    @overload
    async def create(
        self, *, stream: bool, **params: Unpack[ResponseCreateParams]
    ) -> Response | AsyncStream[ResponseStreamEvent]: ...
    async def create(
        self, *, stream: bool = False, **params: Unpack[ResponseCreateParams]
    ) -> Response | AsyncStream[ResponseStreamEvent]:
        """Generate a response to `input`; see `Responses.create`."""
        return await self._call(CREATE, params, stream=stream)

    @cached_property
    def with_raw_response(self) -> AsyncResponsesWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncResponsesWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncResponsesWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncResponsesWithStreamingResponse(self)


class ResponsesWithRawResponse:
    def __init__(self, resource: Responses) -> None:
        self.create = to_raw(resource.create)


class ResponsesWithStreamingResponse:
    def __init__(self, resource: Responses) -> None:
        self.create = to_streamed(resource.create)


class AsyncResponsesWithRawResponse:
    def __init__(self, resource: AsyncResponses) -> None:
        self.create = to_async_raw(resource.create)


class AsyncResponsesWithStreamingResponse:
    def __init__(self, resource: AsyncResponses) -> None:
        self.create = to_async_streamed(resource.create)
