"""Typed SSE streams: `Stream` (sync) and `AsyncStream` share `StreamState`; they differ only in
how bytes are read and the response closed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx2

from ._exceptions import APIError, APITimeoutError, ProtocolError, StreamError
from ._sse import SSEDecoder
from ._think import ThinkFilter

if TYPE_CHECKING:
    from ._endpoints import StreamKind
    from ._request import PreparedRequest
    from .types.shared import Usage

__all__ = ["AsyncStream", "Stream", "StreamState", "stream_read_error"]

EventT = TypeVar("EventT")

_ERROR_TYPES = ("error", "response.failed")
_closing: set[asyncio.Task[None]] = set()  # close tasks started by AsyncStream.__del__


def _error_message(body: dict[str, Any]) -> str:
    error = body.get("error")
    if error is None and isinstance(body.get("response"), dict):
        error = body["response"].get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    if isinstance(error, str):
        return error
    return str(body.get("message") or body)


def stream_read_error(
    exc: httpx2.HTTPError, prepared: PreparedRequest, request_id: str
) -> APIError:
    """The SDK error for a failure while reading a response body that is being streamed."""
    where = prepared.describe()
    if isinstance(exc, httpx2.TimeoutException):
        return APITimeoutError(
            f"{where}: no data from the server within the timeout", request_id=request_id
        )
    return StreamError(
        f"{where}: the connection broke mid-stream ({exc or type(exc).__name__})",
        request_id=request_id,
    )


class StreamState(Generic[EventT]):
    """Decoding, `[DONE]`, error events, usage and text deltas of one stream (no I/O)."""

    def __init__(
        self, kind: StreamKind[EventT], prepared: PreparedRequest, request_id: str
    ) -> None:
        self.kind = kind
        self.prepared = prepared
        self.request_id = request_id
        self.decoder = SSEDecoder()
        self.done = False
        self.failure: APIError | None = None
        self.usage: Usage | None = None
        self.think = ThinkFilter()
        self.extra_reasoning: list[str] = []

    def feed(self, chunk: bytes) -> list[EventT]:
        """Typed events of a chunk; sets `done` at `[DONE]` and `failure` at an error event."""
        events: list[EventT] = []
        parse = self.kind.parse
        for sse in self.decoder.feed(chunk):
            data = sse.data
            if data == "[DONE]":
                self.done = True
                break
            if '"error"' in data or '"response.failed"' in data:
                self.failure = self._error_event(data)
                if self.failure is not None:
                    break
            try:
                event = parse(data, sse.event)
            except ValueError as exc:  # invalid JSON or pydantic ValidationError
                self.failure = ProtocolError(
                    f"invalid event in the stream of {self.prepared.describe()}: "
                    f"{str(exc).splitlines()[0]}",
                    request_id=self.request_id,
                )
                break
            usage = self.kind.usage(event)
            if usage is not None:
                self.usage = usage
            events.append(event)
        return events

    def _error_event(self, data: str) -> StreamError | None:
        try:
            body = json.loads(data)
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        if "error" not in body and body.get("type") not in _ERROR_TYPES:
            return None
        return StreamError(
            f"the server reported an error mid-stream: {_error_message(body)}",
            request_id=self.request_id,
            body=body,
        )

    def finish(self) -> None:
        """At the end of the bytes: fail if the stream was cut in the middle of an event."""
        if not self.done and self.decoder.ended_mid_event:
            self.failure = StreamError(
                f"the stream of {self.prepared.describe()} ended in the middle of an event",
                request_id=self.request_id,
            )

    def read_error(self, exc: httpx2.HTTPError) -> APIError:
        """The SDK error for a failure while reading the stream."""
        return stream_read_error(exc, self.prepared, self.request_id)

    def visible_text(self, event: EventT) -> str:
        """The text delta of an event without a leading `<think>` block (kept as reasoning)."""
        reasoning = self.kind.reasoning(event)
        if reasoning:
            self.extra_reasoning.append(reasoning)
        text = self.kind.text(event)
        return self.think.feed(text) if text else ""

    @property
    def reasoning(self) -> str:
        return "".join(self.extra_reasoning) + self.think.reasoning


class _StreamBase(Generic[EventT]):
    def __init__(self, response: httpx2.Response, state: StreamState[EventT]) -> None:
        self.response = response
        self._state = state

    @property
    def request_id(self) -> str:
        """The request id (as echoed by the server, else the one sent)."""
        return self._state.request_id

    @property
    def usage(self) -> Usage | None:
        """The usage the server reported (after iteration; None if it sent none)."""
        return self._state.usage

    @property
    def reasoning(self) -> str:
        """Reasoning seen by `text_deltas()`: `reasoning` deltas and the dropped think block."""
        return self._state.reasoning


class Stream(_StreamBase[EventT]):
    """A streamed response: iterate it for typed events. Use it as a context manager (or call
    `close()`) to release the connection when you stop early; it is also released at the end,
    on errors and when garbage collected."""

    def __init__(self, response: httpx2.Response, state: StreamState[EventT]) -> None:
        super().__init__(response, state)
        self._events = _events(response, state)

    def __iter__(self) -> Iterator[EventT]:
        return self

    def __next__(self) -> EventT:
        return next(self._events)

    def text_deltas(self) -> Iterator[str]:
        """Only the generated text, without a leading `<think>…</think>` block (see
        `reasoning`), even when its tags are split across chunks."""
        for event in self:
            text = self._state.visible_text(event)
            if text:
                yield text
        tail = self._state.think.finish()
        if tail:
            yield tail

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._events.close()
        self.response.close()

    def __enter__(self) -> Stream[EventT]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        response = getattr(self, "response", None)
        if response is not None and not response.is_closed:
            with contextlib.suppress(Exception):  # nothing useful to do while being collected
                response.close()


class AsyncStream(_StreamBase[EventT]):
    """A streamed response: `async for` it for typed events; `async with` it (or
    `await close()`) to release the connection when you stop early."""

    def __init__(self, response: httpx2.Response, state: StreamState[EventT]) -> None:
        super().__init__(response, state)
        self._events = _async_events(response, state)

    def __aiter__(self) -> AsyncIterator[EventT]:
        return self

    async def __anext__(self) -> EventT:
        return await self._events.__anext__()

    async def text_deltas(self) -> AsyncIterator[str]:
        """Only the generated text, without a leading `<think>…</think>` block (see
        `reasoning`), even when its tags are split across chunks."""
        async for event in self:
            text = self._state.visible_text(event)
            if text:
                yield text
        tail = self._state.think.finish()
        if tail:
            yield tail

    async def close(self) -> None:
        """Stop reading and release the connection."""
        await self._events.aclose()
        await self.response.aclose()

    def __del__(self) -> None:
        # Garbage collected before it was read to the end: close the response on the loop.
        response = getattr(self, "response", None)
        if response is None or response.is_closed:
            return
        with contextlib.suppress(Exception):
            task = asyncio.get_running_loop().create_task(response.aclose())
            _closing.add(task)
            task.add_done_callback(_closing.discard)

    async def __aenter__(self) -> AsyncStream[EventT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


# The event generators take the response and state, not the stream object, so that a dropped
# stream is freed (and its connection closed) at once, without waiting for the cycle collector.


def _events(response: httpx2.Response, state: StreamState[EventT]) -> Generator[EventT, None, None]:
    chunks = response.iter_bytes()
    try:
        while not state.done:
            try:
                chunk = next(chunks)
            except StopIteration:
                state.finish()
                break
            except httpx2.HTTPError as exc:
                raise state.read_error(exc) from exc
            yield from state.feed(chunk)
            if state.failure is not None:
                break
        if state.failure is not None:
            raise state.failure
    finally:
        response.close()


async def _async_events(
    response: httpx2.Response, state: StreamState[EventT]
) -> AsyncGenerator[EventT, None]:
    chunks = response.aiter_bytes()
    try:
        while not state.done:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                state.finish()
                break
            except httpx2.HTTPError as exc:
                raise state.read_error(exc) from exc
            for event in state.feed(chunk):
                yield event
            if state.failure is not None:
                break
        if state.failure is not None:
            raise state.failure
    finally:
        await response.aclose()
