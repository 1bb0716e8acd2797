"""Base classes of the API resources and the wrappers behind `with_raw_response` and
`with_streaming_response`. Sync and async share request building (`_prepare`) and result
building; only the awaited send differs."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from typing import TYPE_CHECKING, Any, TypeVar, cast

from typing_extensions import ParamSpec, Self

from ._call import Call
from ._endpoints import Endpoint
from ._request import build_request, split_options
from ._response import AsyncStreamedResponse, RawResponse, StreamedResponse
from ._streaming import AsyncStream, Stream

if TYPE_CHECKING:
    import httpx2

    from ._transport import AsyncTransport, SyncTransport, TransportBase

__all__ = [
    "AsyncAPIResource",
    "SyncAPIResource",
    "to_async_raw",
    "to_async_streamed",
    "to_raw",
    "to_streamed",
]

P = ParamSpec("P")
R = TypeVar("R")
E = TypeVar("E")

_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


class Mode(enum.Enum):
    """What a resource's methods return: the parsed result, a RawResponse, or a streamed one."""

    PARSED = "parsed"
    RAW = "raw"
    STREAMING = "streaming"


class _Resource:
    def __init__(self, transport: TransportBase, mode: Mode = Mode.PARSED) -> None:
        self._transport = transport
        self._mode = mode

    def _with_mode(self, mode: Mode) -> Self:
        return type(self)(self._transport, mode)

    def _prepare(
        self,
        endpoint: Endpoint[R, E],
        params: Mapping[str, Any] | None = None,
        *,
        stream: bool = False,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        json_data: Any = None,
    ) -> Call[R, E]:
        body, options = split_options(params or {})
        if stream:
            body["stream"] = True
        if endpoint.method in _BODYLESS:  # fields travel in the query string
            query, body_fields = {**body, **(query or {})}, None
        else:
            body_fields = body if json_data is None else None
        prepared = build_request(
            self._transport.surfaces[endpoint.surface],
            endpoint.method,
            endpoint.format_path(**(path_args or {})),
            body=body_fields,
            json_data=json_data,
            params=query,
            extra_headers=options.get("extra_headers"),
            extra_body=options.get("extra_body"),
            timeout=options.get("timeout"),
            default_timeout=self._transport.config.timeout,
            needs_auth=endpoint.needs_auth,
            stream=stream,
        )
        return Call(endpoint, prepared)


class SyncAPIResource(_Resource):
    """Base of sync resources."""

    _transport: SyncTransport

    def _call(
        self,
        endpoint: Endpoint[R, E],
        params: Mapping[str, Any] | None = None,
        *,
        stream: bool = False,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        json_data: Any = None,
    ) -> R | Stream[E]:
        call = self._prepare(
            endpoint, params, stream=stream, path_args=path_args, query=query, json_data=json_data
        )
        streaming = self._mode is Mode.STREAMING
        response = self._transport.send(call.prepared, stream=stream or streaming)
        if self._mode is Mode.PARSED:
            return cast("R | Stream[E]", _finish(call, response, Stream))
        wrapper = StreamedResponse if streaming else RawResponse
        # The raw/streaming wrappers (see to_raw) type this return value correctly.
        result = wrapper(response, call, lambda: _finish(call, response, Stream))
        return cast("R | Stream[E]", result)

    def _fetch(self, endpoint: Endpoint[R, None], params: Mapping[str, Any] | None = None) -> R:
        """Call a route that never streams."""
        return cast(R, self._call(endpoint, params))


class AsyncAPIResource(_Resource):
    """Base of async resources."""

    _transport: AsyncTransport

    async def _call(
        self,
        endpoint: Endpoint[R, E],
        params: Mapping[str, Any] | None = None,
        *,
        stream: bool = False,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        json_data: Any = None,
    ) -> R | AsyncStream[E]:
        call = self._prepare(
            endpoint, params, stream=stream, path_args=path_args, query=query, json_data=json_data
        )
        streaming = self._mode is Mode.STREAMING
        response = await self._transport.send(call.prepared, stream=stream or streaming)
        if self._mode is Mode.PARSED:
            return cast("R | AsyncStream[E]", _finish(call, response, AsyncStream))
        wrapper = AsyncStreamedResponse if streaming else RawResponse
        # The raw/streaming wrappers (see to_raw) type this return value correctly.
        result = wrapper(response, call, lambda: _finish(call, response, AsyncStream))
        return cast("R | AsyncStream[E]", result)

    async def _fetch(
        self, endpoint: Endpoint[R, None], params: Mapping[str, Any] | None = None
    ) -> R:
        """Call a route that never streams."""
        return cast(R, await self._call(endpoint, params))


def _finish(call: Call[R, E], response: httpx2.Response, stream_type: Callable[..., Any]) -> Any:
    """The typed result: a (async) stream over the response, or the parsed body."""
    if call.stream:
        return stream_type(response, call.stream_state(response))
    return call.parse(response)


def _rebind(method: Callable[..., Any], mode: Mode) -> Callable[..., Any]:
    resource = cast(_Resource, method.__self__)  # type: ignore[attr-defined]
    return cast(Callable[..., Any], getattr(resource._with_mode(mode), method.__name__))


def to_raw(method: Callable[P, R]) -> Callable[P, RawResponse[R]]:
    """`method`, returning a RawResponse (`.parse()` gives what `method` returns)."""
    return _rebind(method, Mode.RAW)


def to_streamed(method: Callable[P, R]) -> Callable[P, AbstractContextManager[StreamedResponse[R]]]:
    """`method`, returning a context manager around a StreamedResponse (body not read)."""
    bound = _rebind(method, Mode.STREAMING)

    @contextmanager
    def opened(*args: P.args, **kwargs: P.kwargs) -> Iterator[StreamedResponse[R]]:
        response: StreamedResponse[R] = bound(*args, **kwargs)
        with response:
            yield response

    return opened


def to_async_raw(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[RawResponse[R]]]:
    """Async `method`, returning a RawResponse."""
    return _rebind(method, Mode.RAW)


def to_async_streamed(
    method: Callable[P, Awaitable[R]],
) -> Callable[P, AbstractAsyncContextManager[AsyncStreamedResponse[R]]]:
    """Async `method`, returning an async context manager around an AsyncStreamedResponse."""
    bound = _rebind(method, Mode.STREAMING)

    @asynccontextmanager
    async def opened(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[AsyncStreamedResponse[R]]:
        response: AsyncStreamedResponse[R] = await bound(*args, **kwargs)
        async with response:
            yield response

    return opened
