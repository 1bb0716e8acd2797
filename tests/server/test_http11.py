"""The gateway's HTTP/1.1 transport against real loopback servers: framing, keep-alive reuse,
stale connections, timeouts, failures, and abandoned streams closing their connection."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx2
import pytest

from tensormesh_server.engines.http11 import HTTP11Transport
from tensormesh_server.engines.upstream import ReplicaPool
from tensormesh_server.testing.fake_upstream import FakeUpstream, free_port, running_fake_upstream

Handler = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's head and content-length body, or None when the client closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


class RawServer:
    """A raw asyncio server running `handler` per connection (closed when it returns); counts
    connections, and the connections the client closed (`closed`, see `until_client_closes`)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.closed = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(self, reader, writer)
        finally:
            writer.close()

    async def until_client_closes(self, reader: asyncio.StreamReader) -> None:
        """Wait for the client's end of the connection (ignoring what it still sends)."""
        await reader.read()
        self.closed += 1

    async def wait_closed(self, count: int) -> None:
        """Wait (bounded) until `count` connections were closed by the client."""
        for _ in range(200):
            if self.closed >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{self.closed} connections closed, expected {count}")


def answering(*answers: bytes) -> Handler:
    """A keep-alive handler giving `answers` in turn, one per request, then waiting for EOF."""

    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        for answer in answers:
            if await read_request(reader) is None:
                break
            writer.write(answer)
        await server.until_client_closes(reader)

    return handle


async def serving(handler: Handler) -> RawServer:
    """A started RawServer (closed with the test's event loop)."""
    return await RawServer(handler).__aenter__()


async def get(
    transport: httpx2.AsyncBaseTransport, url: str, method: str = "GET", **timeouts: float
) -> httpx2.Response:
    request = httpx2.Request(method, url, extensions={"timeout": timeouts})
    return await transport.handle_async_request(request)


async def text(transport: httpx2.AsyncBaseTransport, url: str) -> bytes:
    response = await get(transport, url)
    try:
        return await response.aread()
    finally:
        await response.aclose()


@pytest.fixture
async def transport() -> AsyncIterator[HTTP11Transport]:
    http = HTTP11Transport()
    yield http
    await http.aclose()


async def test_keep_alive_reuses_one_connection_and_closes_it(transport: HTTP11Transport) -> None:
    server = await serving(answering(OK, OK, OK))
    for _ in range(3):
        assert await text(transport, server.url + "/x") == b"ok"
    assert server.connections == 1
    assert transport.open_count == 1
    await transport.aclose()
    await server.wait_closed(1)
    assert transport.open_count == 0


async def test_request_line_headers_and_body_reach_the_server(transport: HTTP11Transport) -> None:
    seen: list[bytes] = []

    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        seen.append(await read_request(reader) or b"")
        writer.write(OK)

    server = await serving(handle)
    request = httpx2.Request(
        "POST", server.url + "/v1/x?a=1", headers={"x-request-id": "r1"}, content=b"{}"
    )
    response = await transport.handle_async_request(request)
    assert await response.aread() == b"ok"
    assert seen[0].startswith(b"POST /v1/x?a=1 HTTP/1.1\r\n")
    assert b"\r\nx-request-id: r1\r\n" in seen[0].lower()
    assert seen[0].endswith(b"\r\n\r\n{}")


async def test_streamed_request_body_is_sent_chunked(transport: HTTP11Transport) -> None:
    seen: list[bytes] = []

    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        seen.append(await reader.readuntil(b"\r\n0\r\n\r\n"))
        writer.write(OK)

    async def parts() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    server = await serving(handle)
    request = httpx2.Request("POST", server.url, content=parts())
    response = await transport.handle_async_request(request)
    assert await response.aread() == b"ok"
    assert b"transfer-encoding: chunked\r\n" in seen[0].lower()
    assert seen[0].endswith(b"\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")


async def test_bytes_beyond_the_answer_are_ignored_and_not_reused(
    transport: HTTP11Transport,
) -> None:
    extra = b"HTTP/1.1 200 OK\r\nx-extra: 1\r\ncontent-length: 0\r\n\r\n"
    server = await serving(answering(OK + extra, OK))
    response = await get(transport, server.url)
    assert await response.aread() == b"ok"
    assert "x-extra" not in response.headers
    await server.wait_closed(1)
    assert await text(transport, server.url) == b"ok"
    assert server.connections == 2


async def test_chunked_body_streams_as_it_arrives(transport: HTTP11Transport) -> None:
    more = asyncio.Event()

    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await more.wait()
        writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
        await reader.read()

    server = await serving(handle)
    response = await get(transport, server.url)
    pieces = response.aiter_raw()
    assert await pieces.__anext__() == b"first"  # before the rest was even written
    more.set()
    assert [piece async for piece in pieces] == [b"second"]
    assert transport.idle[("127.0.0.1", int(server.url.rsplit(":", 1)[1]))]  # back in the pool


async def test_close_delimited_body_is_read_to_eof_and_not_reused(
    transport: HTTP11Transport,
) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the ")
        await asyncio.sleep(0.01)
        writer.write(b"end")

    server = await serving(handle)
    assert await text(transport, server.url) == b"until the end"
    assert await text(transport, server.url) == b"until the end"
    assert server.connections == 2
    assert transport.open_count == 0


async def test_large_body_with_flow_control(transport: HTTP11Transport) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB: reading pauses and resumes

    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await read_request(reader) is not None:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)

    server = await serving(handle)
    response = await get(transport, server.url)
    await asyncio.sleep(0.05)  # let the body pile up unread
    assert await response.aread() == body
    assert await text(transport, server.url) == body
    assert server.connections == 1


async def test_reset_mid_body_is_a_read_error(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        await writer.drain()
        await asyncio.sleep(0.02)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # an RST, not a FIN

    server = await serving(handle)
    response = await get(transport, server.url)
    with pytest.raises(httpx2.ReadError):
        await response.aread()
    assert transport.open_count == 0


async def test_closed_mid_body_is_a_protocol_error(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")

    server = await serving(handle)
    response = await get(transport, server.url)
    with pytest.raises(httpx2.RemoteProtocolError):
        await response.aread()


async def test_closed_before_the_headers_is_a_protocol_error(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 O")

    server = await serving(handle)
    with pytest.raises(httpx2.RemoteProtocolError):
        await get(transport, server.url)
    assert server.connections == 1  # a new connection is not retried
    assert transport.open_count == 0


async def test_garbage_is_a_protocol_error(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await reader.read()

    server = await serving(handle)
    with pytest.raises(httpx2.RemoteProtocolError, match="invalid HTTP response"):
        await get(transport, server.url)


async def test_stale_keep_alive_connection_is_retried_once(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if server.connections == 1:  # answer once, then drop the next request unanswered
            await read_request(reader)
            writer.write(OK)
            await read_request(reader)
            return
        while await read_request(reader) is not None:
            writer.write(OK)

    server = await serving(handle)
    assert await text(transport, server.url) == b"ok"
    assert await text(transport, server.url) == b"ok"
    assert server.connections == 2


async def test_stall_is_a_read_timeout_and_closes(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        await server.until_client_closes(reader)

    server = await serving(handle)
    with pytest.raises(httpx2.ReadTimeout):
        await get(transport, server.url, read=0.1)
    await server.wait_closed(1)


async def test_stall_mid_body_is_a_read_timeout(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await reader.read()

    server = await serving(handle)
    response = await get(transport, server.url, read=0.1)
    with pytest.raises(httpx2.ReadTimeout):
        await response.aread()


async def test_unread_request_body_is_a_write_timeout(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await asyncio.sleep(2)  # never reads

    server = await serving(handle)
    request = httpx2.Request(
        "POST", server.url, content=b"x" * (64 << 20), extensions={"timeout": {"write": 0.2}}
    )
    with pytest.raises(httpx2.WriteTimeout):
        await transport.handle_async_request(request)
    assert transport.open_count == 0


async def test_refused_is_a_connect_error(transport: HTTP11Transport) -> None:
    with pytest.raises(httpx2.ConnectError):
        await get(transport, f"http://127.0.0.1:{free_port()}")
    assert transport.open_count == 0


async def test_full_pool_waits_then_times_out() -> None:
    server = await serving(answering(OK, OK))
    async with HTTP11Transport(max_connections=1) as transport:
        held = await get(transport, server.url)
        with pytest.raises(httpx2.PoolTimeout):
            await get(transport, server.url, pool=0.05)
        waiting = asyncio.ensure_future(text(transport, server.url))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        assert await held.aread() == b"ok"  # read to the end: the connection is free again
        assert await waiting == b"ok"
    assert server.connections == 1


async def test_idle_connections_expire() -> None:
    server = await serving(answering(OK))
    async with HTTP11Transport(keepalive_expiry=0.05) as transport:
        assert await text(transport, server.url) == b"ok"
        assert transport.open_count == 1
        await server.wait_closed(1)
        assert transport.open_count == 0
        assert not any(transport.idle.values())


async def test_abandoned_stream_closes_its_connection(transport: HTTP11Transport) -> None:
    async def handle(
        server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await server.until_client_closes(reader)  # EOF: the client went away

    server = await serving(handle)
    response = await get(transport, server.url)
    async for piece in response.aiter_raw():
        assert piece == b"first"
        break
    await response.aclose()
    await server.wait_closed(1)
    assert transport.open_count == 0


async def test_head_and_interim_answers(transport: HTTP11Transport) -> None:
    server = await serving(answering(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"))
    head = await get(transport, server.url, method="HEAD")
    assert head.headers["content-length"] == "5"
    assert await head.aread() == b""
    await server.wait_closed(1)  # framing unknown: not reused
    server = await serving(answering(b"HTTP/1.1 100 Continue\r\n\r\n" + OK, OK))
    assert await text(transport, server.url) == b"ok"
    assert await text(transport, server.url) == b"ok"
    assert server.connections == 1


async def test_other_schemes_go_to_the_fallback() -> None:
    fallback = httpx2.MockTransport(lambda request: httpx2.Response(200, text=request.url.host))
    async with HTTP11Transport(fallback=fallback) as transport:
        assert await text(transport, "https://tls.example/") == b"tls.example"


@pytest.mark.slow
async def test_against_the_fake_upstream(transport: HTTP11Transport) -> None:
    with running_fake_upstream(FakeUpstream(name="loop")) as (url, fake):
        async with httpx2.AsyncClient(transport=transport) as client:
            assert (await client.get(url + "/health")).json() == {"status": "ok"}
            body = {"model": "m", "messages": [], "stream": True}
            async with client.stream("POST", url + "/v1/chat/completions", json=body) as answer:
                lines = [line async for line in answer.aiter_lines() if line]
            assert lines[-1] == "data: [DONE]"
            assert json.loads(lines[0][6:])["id"] == "cmpl-loop"
            completion = await client.post(url + "/v1/completions", json={"prompt": "x"})
            assert completion.json()["id"] == "cmpl-loop"
            assert transport.open_count == 1  # one keep-alive connection did it all
        assert fake.requests == 2
        assert transport.open_count == 0  # the client closed its transport


@pytest.mark.slow
async def test_abandoned_upstream_stream_reaches_the_fake_upstream(
    transport: HTTP11Transport,
) -> None:
    fake = FakeUpstream(name="slow", words=("w",) * 100, chunk_delay=0.02)
    with running_fake_upstream(fake) as (url, _):
        pool = ReplicaPool(transport, [url])
        body = b'{"model":"m","prompt":"x","stream":true}'
        async with pool.open("POST", "/v1/completions", body) as response:
            async for _ in response.aiter_raw():
                break
        for _ in range(100):
            if fake.cancelled:
                break
            await asyncio.sleep(0.02)
        assert fake.cancelled == 1
        assert transport.open_count == 0
