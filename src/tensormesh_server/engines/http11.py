"""A lean HTTP/1.1 client transport for the gateway: asyncio protocols and httptools.

`HTTP11Transport` is an `httpx2.AsyncBaseTransport`, so it takes fully formed `httpx2.Request`s
and returns streamed `httpx2.Response`s, at a fraction of the CPU of httpx2's own transport.
It keeps a bounded keep-alive pool per origin (`http://` only; other schemes go through
`httpx2.AsyncHTTPTransport`), honours the connect/read/write/pool timeouts of
`request.extensions["timeout"]` and raises httpx2's exceptions. Closing a response stream that
was not read to the end closes its connection: that is how an abandoned request reaches the
server. A reused keep-alive connection found closed before any byte of the answer is replaced
once by a new connection.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import cast

import httptools
import httpx2

Origin = tuple[str, int]

_READ_BUFFER = 256 * 1024
"""Unread body bytes held per connection before reading from the socket pauses."""


async def _wait(
    future: asyncio.Future[None], timeout: float | None, error: Callable[[], Exception]
) -> None:
    """Await `future`; it fails with `error()` unless done within `timeout` seconds."""
    if timeout is None:
        return await future

    def expire() -> None:
        if not future.done():
            future.set_exception(error())

    timer = future.get_loop().call_later(timeout, expire)
    try:
        await future
    finally:
        timer.cancel()


class _Connection(asyncio.Protocol):
    """One TCP connection: writes a request, parses its response, buffers the body."""

    def __init__(self, pool: HTTP11Transport, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.served = 0  # responses completed on this connection
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None  # head, body or drain progress
        self.paused_reading = False
        self.paused_writing = False
        self._reset()

    def _reset(self) -> None:
        self.expecting = False  # a request was sent and its response is not complete
        self.received = 0  # bytes of the current response received so far
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.done = False
        self.keep_alive = False
        self.framed = False  # content-length or chunked: the end is not the connection's
        self.error: Exception | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if not self.expecting:  # nothing asked: the connection cannot be trusted any more
            self.close()
            return
        self.received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx2.RemoteProtocolError(f"invalid HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.expecting:
            if self.head_done and not self.framed:
                self.on_message_complete()  # a close-delimited body ends here
            elif exc is not None:
                self._fail(httpx2.ReadError(str(exc) or type(exc).__name__))
            elif self.head_done:
                self._fail(httpx2.RemoteProtocolError("peer closed the connection mid-body"))
            else:
                message = "server disconnected without sending a complete response"
                self._fail(httpx2.RemoteProtocolError(message))
        self._wake()

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        self._wake()

    # httptools callbacks

    # (after `done`, bytes beyond the answer to our request: ignored, and not reusable)

    def on_message_begin(self) -> None:
        if self.done:
            self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.done:
            return
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if self.done:
            return
        if 100 <= status < 200:  # an interim answer: the real one follows
            self.headers, self.framed = [], False
            return
        self.status, self.head_done = status, True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.done:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _READ_BUFFER and not self.paused_reading and self.transport:
            self.paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.head_done or self.done:  # an interim answer ended, or beyond ours
            return
        self.done, self.expecting = True, False
        self.keep_alive = self.parser.should_keep_alive()
        self._wake()

    # the request's side

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error
        self.expecting = False
        self.close()
        self._wake()

    async def _progress(self, timeout: float | None, error: Callable[[], Exception]) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await _wait(self._waiter, timeout, error)
        finally:
            self._waiter = None

    async def send(self, message: bytes, timeout: float | None) -> None:
        """Write a request; a connection already closed raises RemoteProtocolError."""
        self._reset()
        if self.closed or self.transport is None or self.transport.is_closing():
            raise httpx2.RemoteProtocolError("the connection was closed")
        self.expecting = True
        self.transport.write(message)
        while self.paused_writing and self.error is None:
            await self._progress(timeout, lambda: httpx2.WriteTimeout("timed out writing"))
        if self.error is not None:
            raise self.error

    async def head(self, timeout: float | None) -> tuple[int, list[tuple[bytes, bytes]]]:
        """Wait for the status and headers of the response."""
        while not self.head_done and self.error is None:
            await self._progress(timeout, lambda: httpx2.ReadTimeout("timed out reading"))
        if not self.head_done:
            raise cast(Exception, self.error)
        return self.status, self.headers

    async def read(self, timeout: float | None) -> bytes:
        """The next piece of the body as it arrived; b"" at its end."""
        while not self.chunks:
            if self.done:
                return b""
            if self.error is not None:
                raise self.error
            await self._progress(timeout, lambda: httpx2.ReadTimeout("timed out reading"))
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused_reading and self.buffered < _READ_BUFFER // 2 and self.transport:
            self.paused_reading = False
            self.transport.resume_reading()
        return chunk

    def finish_without_body(self) -> None:
        """The answer to HEAD: no body follows however it is framed; not reusable."""
        self.done, self.expecting, self.keep_alive = True, False, False

    def release(self) -> None:
        """Back to the pool when the response was complete, else close."""
        if self.done and self.keep_alive and not self.closed and self.error is None:
            self.served += 1
            self.chunks.clear()
            if self.paused_reading and self.transport is not None:
                self.paused_reading = False
                self.transport.resume_reading()
            self.pool.put_idle(self)
        else:
            self.close()

    def close(self) -> None:
        """Close the socket and give up its place in the pool (once)."""
        if not self.closed:
            self.closed = True
            self.pool.forget(self)
            if self.transport is not None:
                self.transport.close()


class _Body(httpx2.AsyncByteStream):
    """A response body streamed from its connection; closing it early closes the connection."""

    def __init__(self, connection: _Connection, timeout: float | None) -> None:
        self._connection: _Connection | None = connection
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self._connection is not None:
            chunk = await self._connection.read(self._timeout)
            if not chunk:
                break
            yield chunk
        await self.aclose()

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.release()


class HTTP11Transport(httpx2.AsyncBaseTransport):
    """HTTP/1.1 over asyncio with a keep-alive pool: at most `max_connections` open at once,
    at most `max_idle_per_origin` idle per origin, each idle at most `keepalive_expiry` s."""

    def __init__(
        self,
        max_connections: int = 512,
        max_idle_per_origin: int = 128,
        keepalive_expiry: float = 30.0,
        fallback: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.max_idle_per_origin = max_idle_per_origin
        self.keepalive_expiry = keepalive_expiry
        self.fallback = fallback  # for schemes other than http://
        self.idle: dict[Origin, list[_Connection]] = {}
        self._open_connections: set[_Connection] = set()  # open or opening, idle or not
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None

    @property
    def open_count(self) -> int:
        """Connections open or opening, idle or in use."""
        return len(self._open_connections)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send `request` and return its response once the headers are in (body streamed)."""
        url = request.url
        if url.scheme != "http":
            if self.fallback is None:
                self.fallback = httpx2.AsyncHTTPTransport(retries=0)
            return await self.fallback.handle_async_request(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout") or {}
        message = _encode(request, await request.aread())
        origin = (url.host, url.port or 80)
        fresh = False
        while True:
            connection = await self._connection(origin, timeouts, fresh)
            try:
                await connection.send(message, timeouts.get("write"))
                status, headers = await connection.head(timeouts.get("read"))
            except (httpx2.RemoteProtocolError, httpx2.ReadError):
                connection.close()
                if fresh or not connection.served or connection.received:
                    raise
                fresh = True  # a stale keep-alive connection; nothing was answered
                continue
            except BaseException:
                connection.close()
                raise
            if request.method == "HEAD":
                connection.finish_without_body()
            body = _Body(connection, timeouts.get("read"))
            extensions = {"http_version": b"HTTP/1.1"}
            return httpx2.Response(status, headers=headers, stream=body, extensions=extensions)

    async def _connection(
        self, origin: Origin, timeouts: dict[str, float | None], fresh: bool
    ) -> _Connection:
        """An idle connection to `origin` (unless `fresh`), else a new one when there is room."""
        while True:
            idle = self.idle.get(origin)
            now = time.monotonic()
            while idle and not fresh:
                connection = idle.pop()
                if now - connection.idle_since < self.keepalive_expiry and not connection.closed:
                    return connection
                connection.close()
            if self.open_count < self.max_connections or self._evict_idle():
                return await self._open(origin, timeouts.get("connect"))
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await _wait(waiter, timeouts.get("pool"), lambda: httpx2.PoolTimeout("pool full"))
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._wake_one()  # woken but leaving: pass the turn on
                raise

    async def _open(self, origin: Origin, timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = _Connection(self, origin)
        self._open_connections.add(connection)
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: connection, *origin), timeout=timeout
            )
        except asyncio.TimeoutError:
            raise httpx2.ConnectTimeout(f"timed out connecting to {origin[0]}") from None
        except OSError as exc:
            raise httpx2.ConnectError(str(exc) or type(exc).__name__) from None
        finally:
            if connection.transport is None:
                connection.close()
        return connection

    def _evict_idle(self) -> bool:
        """Close the longest idle connection of any origin to make room; False if none."""
        oldest = min(
            (i[0] for i in self.idle.values() if i), key=lambda c: c.idle_since, default=None
        )
        if oldest is None:
            return False
        oldest.close()
        return True

    def put_idle(self, connection: _Connection) -> None:
        """Keep a connection whose response was read to the end, for the next request."""
        idle = self.idle.setdefault(connection.origin, [])
        if len(idle) >= self.max_idle_per_origin:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(self.keepalive_expiry, self._sweep)
        self._wake_one()

    def forget(self, connection: _Connection) -> None:
        """A connection closed: drop it from the idle lists and count its place as free."""
        idle = self.idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)
        if connection in self._open_connections:
            self._open_connections.discard(connection)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        """Close the connections idle for longer than `keepalive_expiry` (a timer, not a loop)."""
        self._sweeper = None
        deadline = time.monotonic() - self.keepalive_expiry
        for idle in list(self.idle.values()):
            for connection in [c for c in idle if c.idle_since <= deadline]:
                connection.close()
        remaining = [c.idle_since for idle in self.idle.values() for c in idle]
        if remaining:
            delay = min(remaining) - deadline
            self._sweeper = asyncio.get_running_loop().call_later(delay, self._sweep)

    async def aclose(self) -> None:
        """Close every connection (streams still being read fail) and the fallback."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self._open_connections):
            connection.close()
        if self.fallback is not None:
            await self.fallback.aclose()


def _encode(request: httpx2.Request, body: bytes) -> bytes:
    """The request line, headers and body; a chunked body is sent as one chunk."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    chunked = False
    for name, value in request.headers.raw:
        if name.lower() == b"transfer-encoding":
            chunked = True
        lines.append(b"%s: %s" % (name, value))
    if chunked:
        body = (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
