"""`serverless.tokenize` and `serverless.detokenize`: POST /tokenize, POST /detokenize."""

from __future__ import annotations

from functools import cached_property

from typing_extensions import Unpack

from tensormesh._endpoints import Endpoint
from tensormesh._resource import (
    AsyncAPIResource,
    SyncAPIResource,
    to_async_raw,
    to_async_streamed,
    to_raw,
    to_streamed,
)
from tensormesh.types.tokenize import (
    DetokenizeParams,
    DetokenizeResponse,
    TokenizeParams,
    TokenizeResponse,
)

__all__ = ["AsyncDetokenize", "AsyncTokenize", "Detokenize", "Tokenize"]

TOKENIZE: Endpoint[TokenizeResponse, None] = Endpoint("POST", "/tokenize", TokenizeResponse)
DETOKENIZE: Endpoint[DetokenizeResponse, None] = Endpoint("POST", "/detokenize", DetokenizeResponse)


class Tokenize(SyncAPIResource):
    """Turn a prompt (or chat messages, with the chat template) into token ids."""

    def create(self, **params: Unpack[TokenizeParams]) -> TokenizeResponse:
        """Tokenize `prompt`, or `messages` with the model's chat template."""
        return self._fetch(TOKENIZE, params)

    @cached_property
    def with_raw_response(self) -> TokenizeWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return TokenizeWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> TokenizeWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return TokenizeWithStreamingResponse(self)


class AsyncTokenize(AsyncAPIResource):
    """Turn a prompt (or chat messages) into token ids (async)."""

    async def create(self, **params: Unpack[TokenizeParams]) -> TokenizeResponse:
        """Tokenize `prompt`, or `messages` with the model's chat template."""
        return await self._fetch(TOKENIZE, params)

    @cached_property
    def with_raw_response(self) -> AsyncTokenizeWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncTokenizeWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncTokenizeWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncTokenizeWithStreamingResponse(self)


class Detokenize(SyncAPIResource):
    """Turn token ids back into text."""

    def create(self, **params: Unpack[DetokenizeParams]) -> DetokenizeResponse:
        """The text of `tokens`."""
        return self._fetch(DETOKENIZE, params)

    @cached_property
    def with_raw_response(self) -> DetokenizeWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return DetokenizeWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> DetokenizeWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return DetokenizeWithStreamingResponse(self)


class AsyncDetokenize(AsyncAPIResource):
    """Turn token ids back into text (async)."""

    async def create(self, **params: Unpack[DetokenizeParams]) -> DetokenizeResponse:
        """The text of `tokens`."""
        return await self._fetch(DETOKENIZE, params)

    @cached_property
    def with_raw_response(self) -> AsyncDetokenizeWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncDetokenizeWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncDetokenizeWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncDetokenizeWithStreamingResponse(self)


class TokenizeWithRawResponse:
    def __init__(self, resource: Tokenize) -> None:
        self.create = to_raw(resource.create)


class TokenizeWithStreamingResponse:
    def __init__(self, resource: Tokenize) -> None:
        self.create = to_streamed(resource.create)


class AsyncTokenizeWithRawResponse:
    def __init__(self, resource: AsyncTokenize) -> None:
        self.create = to_async_raw(resource.create)


class AsyncTokenizeWithStreamingResponse:
    def __init__(self, resource: AsyncTokenize) -> None:
        self.create = to_async_streamed(resource.create)


class DetokenizeWithRawResponse:
    def __init__(self, resource: Detokenize) -> None:
        self.create = to_raw(resource.create)


class DetokenizeWithStreamingResponse:
    def __init__(self, resource: Detokenize) -> None:
        self.create = to_streamed(resource.create)


class AsyncDetokenizeWithRawResponse:
    def __init__(self, resource: AsyncDetokenize) -> None:
        self.create = to_async_raw(resource.create)


class AsyncDetokenizeWithStreamingResponse:
    def __init__(self, resource: AsyncDetokenize) -> None:
        self.create = to_async_streamed(resource.create)
