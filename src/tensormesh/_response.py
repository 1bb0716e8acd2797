"""Raw responses: `RawResponse` (body read, or a stream to parse) and the streamed raw responses
of `with_streaming_response` (`StreamedResponse`, `AsyncStreamedResponse`)."""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx2

from ._call import Call, decode_json
from ._exceptions import TensormeshError
from ._streaming import stream_read_error

__all__ = ["AsyncStreamedResponse", "RawResponse", "StreamedResponse"]

T = TypeVar("T")


class _ResponseInfo:
    def __init__(self, http_response: httpx2.Response, call: Call[Any, Any]) -> None:
        self.http_response = http_response
        self._call = call

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx2.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str:
        """The `x-request-id` of the response, else the one the SDK sent."""
        return self.http_response.headers.get("x-request-id") or self._call.prepared.request_id


class RawResponse(_ResponseInfo, Generic[T]):
    """The HTTP response of a call plus `parse()` for the typed result.

    For non-streamed calls the body is already read (`.text`, `.content`, `.json()`); for
    `stream=True` calls `parse()` returns the (async) stream that reads it.
    """

    def __init__(
        self, http_response: httpx2.Response, call: Call[Any, Any], parse: Callable[[], T]
    ) -> None:
        super().__init__(http_response, call)
        self._parse = parse
        self._parsed: list[T] = []

    @property
    def content(self) -> bytes:
        self._require_body()
        return self.http_response.content

    @property
    def text(self) -> str:
        self._require_body()
        return self.http_response.text

    def json(self) -> Any:
        """The decoded JSON body (ProtocolError if it is not JSON)."""
        self._require_body()
        return decode_json(self._call.prepared, self.http_response)

    def _require_body(self) -> None:
        if self._call.stream:
            raise TensormeshError(
                "the body of a stream=True response is read by iterating parse(); "
                "use with_streaming_response for the raw bytes"
            )

    def parse(self) -> T:
        """The typed result the normal method would have returned (computed once)."""
        if not self._parsed:
            self._parsed.append(self._parse())
        return self._parsed[0]


class StreamedResponse(_ResponseInfo, Generic[T]):
    """A response whose body has not been read: iterate it, or `parse()` it. Context manager."""

    def __init__(
        self, http_response: httpx2.Response, call: Call[Any, Any], parse: Callable[[], T]
    ) -> None:
        super().__init__(http_response, call)
        self._parse = parse

    def iter_bytes(self) -> Iterator[bytes]:
        """The body as it arrives (SDK errors on timeouts and broken connections)."""
        try:
            yield from self.http_response.iter_bytes()
        except httpx2.HTTPError as exc:
            raise _read_error(self._call, self.http_response, exc) from exc
        except httpx2.StreamError as exc:  # consumed or closed already
            raise TensormeshError(f"the response body cannot be read again: {exc}") from exc

    def iter_lines(self) -> Iterator[str]:
        """The body line by line, as it arrives."""
        yield from _lines(self.iter_bytes())

    def read(self) -> bytes:
        """The whole body (kept, so `json()` and `parse()` work afterwards)."""
        try:
            return self.http_response.read()
        except httpx2.HTTPError as exc:
            raise _read_error(self._call, self.http_response, exc) from exc
        except httpx2.StreamError as exc:
            raise TensormeshError(f"the response body cannot be read again: {exc}") from exc

    def json(self) -> Any:
        self.read()
        return decode_json(self._call.prepared, self.http_response)

    def parse(self) -> T:
        """The typed result (reads the body, or returns a Stream over it)."""
        if not self._call.stream:
            self.read()
        return self._parse()

    def close(self) -> None:
        self.http_response.close()

    def __enter__(self) -> StreamedResponse[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncStreamedResponse(_ResponseInfo, Generic[T]):
    """Async twin of `StreamedResponse`: `async for` over `iter_bytes()`/`iter_lines()`."""

    def __init__(
        self, http_response: httpx2.Response, call: Call[Any, Any], parse: Callable[[], T]
    ) -> None:
        super().__init__(http_response, call)
        self._parse = parse

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives (SDK errors on timeouts and broken connections)."""
        try:
            async for chunk in self.http_response.aiter_bytes():
                yield chunk
        except httpx2.HTTPError as exc:
            raise _read_error(self._call, self.http_response, exc) from exc
        except httpx2.StreamError as exc:  # consumed or closed already
            raise TensormeshError(f"the response body cannot be read again: {exc}") from exc

    async def iter_lines(self) -> AsyncIterator[str]:
        """The body line by line, as it arrives."""
        buffer = _LineBuffer()
        async for chunk in self.iter_bytes():
            for line in buffer.feed(chunk):
                yield line
        for line in buffer.finish():
            yield line

    async def read(self) -> bytes:
        """The whole body (kept, so `json()` and `parse()` work afterwards)."""
        try:
            return await self.http_response.aread()
        except httpx2.HTTPError as exc:
            raise _read_error(self._call, self.http_response, exc) from exc
        except httpx2.StreamError as exc:
            raise TensormeshError(f"the response body cannot be read again: {exc}") from exc

    async def json(self) -> Any:
        await self.read()
        return decode_json(self._call.prepared, self.http_response)

    async def parse(self) -> T:
        """The typed result (reads the body, or returns an AsyncStream over it)."""
        if not self._call.stream:
            await self.read()
        return self._parse()

    async def close(self) -> None:
        await self.http_response.aclose()

    async def __aenter__(self) -> AsyncStreamedResponse[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _read_error(
    call: Call[Any, Any], response: httpx2.Response, exc: httpx2.HTTPError
) -> Exception:
    request_id = response.headers.get("x-request-id") or call.prepared.request_id
    return stream_read_error(exc, call.prepared, request_id)


class _LineBuffer:
    """Split bytes into text lines (LF, CRLF or CR), across chunk boundaries."""

    def __init__(self) -> None:
        self._pending = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, chunk: bytes) -> list[str]:
        text = self._pending + self._decoder.decode(chunk)
        lines = text.splitlines(keepends=True)
        self._pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
        if lines and lines[-1].endswith("\r") and not self._pending:
            self._pending = lines.pop()  # may be the first half of CRLF
        return [line.rstrip("\r\n") for line in lines]

    def finish(self) -> list[str]:
        pending, self._pending = self._pending + self._decoder.decode(b"", True), ""
        return [pending.rstrip("\r\n")] if pending else []


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    buffer = _LineBuffer()
    for chunk in chunks:
        yield from buffer.feed(chunk)
    yield from buffer.finish()
