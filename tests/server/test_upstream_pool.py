"""Replica choice (least in flight), failover on refused connections, error mapping."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from tensormesh_server.engines.upstream import ReplicaPool, make_transport, upstream_error
from tensormesh_server.errors import APIError
from tensormesh_server.testing.fake_upstream import FakeUpstream, free_port, running_fake_upstream


def test_least_in_flight_is_tried_first() -> None:
    pool = ReplicaPool(httpx2.AsyncHTTPTransport(), ["http://a", "http://b", "http://c"])
    pool.replicas[0].in_flight = 3
    pool.replicas[1].in_flight = 1
    pool.replicas[2].in_flight = 2
    assert [r.url for r in pool.candidates()] == ["http://b", "http://c", "http://a"]


def test_ties_rotate() -> None:
    pool = ReplicaPool(httpx2.AsyncHTTPTransport(), ["http://a", "http://b"])
    firsts = {pool.candidates()[0].url for _ in range(4)}
    assert firsts == {"http://a", "http://b"}


def test_failed_replica_goes_last() -> None:
    pool = ReplicaPool(httpx2.AsyncHTTPTransport(), ["http://a", "http://b"])
    pool.replicas[1].in_flight = 5
    pool.replicas[0].failed_at = 1e12  # failed "now" (far future keeps it unhealthy)
    assert pool.candidates()[0].url == "http://b"


async def test_failover_to_a_live_replica() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with running_fake_upstream(FakeUpstream(name="alive")) as (url, fake):
        async with httpx2.AsyncHTTPTransport() as transport:
            pool = ReplicaPool(transport, [dead, url])
            pool.replicas[1].in_flight = 10  # the dead one looks idle and is tried first
            status, content = await pool.request("POST", "/v1/completions", b'{"prompt":"x"}')
            assert status == 200
            assert b"cmpl-alive" in content
            assert fake.requests == 1
            assert not pool.replicas[0].healthy(pool.replicas[0].failed_at + 1)
            assert pool.replicas[1].in_flight == 10


async def test_all_replicas_down_is_503_naming_replicas_not_addresses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    async with httpx2.AsyncHTTPTransport() as transport:
        pool = ReplicaPool(transport, urls)
        with pytest.raises(APIError) as caught:
            await pool.request("POST", "/v1/completions", b"{}")
        assert caught.value.status == 503
        message = caught.value.message
        assert message.startswith("no upstream replica is reachable: ")
        assert "replica 1 (cannot connect)" in message
        assert "replica 2 (cannot connect)" in message
        assert "127.0.0.1" not in message
        assert all(url in caplog.text for url in urls)  # the operator's log has the addresses
        health = await pool.check("/health")
        assert health is not None
        assert "127.0.0.1" not in health


async def test_in_flight_counts_while_streaming() -> None:
    with running_fake_upstream(FakeUpstream(chunk_delay=0.01)) as (url, _):
        async with httpx2.AsyncHTTPTransport() as transport:
            pool = ReplicaPool(transport, [url])
            body = b'{"prompt":"x","stream":true}'
            async with pool.open("POST", "/v1/completions", body) as response:
                assert pool.replicas[0].in_flight == 1
                assert b"[DONE]" in await response.aread()
            assert pool.replicas[0].in_flight == 0


@pytest.mark.parametrize(
    ("status", "content", "expected_status", "message"),
    [
        (
            400,
            b'{"error":{"message":"bad thing","type":"invalid_request_error","code":400}}',
            400,
            "bad thing",
        ),
        (500, b'{"error":"kaput"}', 502, "kaput"),
        (503, b"<html>down</html>", 503, "answered HTTP 503"),
        (404, b"", 404, "answered HTTP 404"),
    ],
)
def test_upstream_error_mapping(
    status: int, content: bytes, expected_status: int, message: str
) -> None:
    error = upstream_error(status, content, "http://up")
    assert error.status == expected_status
    assert message in error.message
    assert error.code is None or isinstance(error.code, str)


async def _crashing_server(dies_with: bytes) -> asyncio.Server:
    """A replica that reads a request, sends `dies_with` and closes the connection."""

    async def crash(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(dies_with)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(crash, "127.0.0.1", 0)


async def test_replica_dying_mid_answer_fails_over_when_nothing_was_relayed() -> None:
    """A whole (non-streamed) answer cut short: the next replica answers instead."""
    dying = await _crashing_server(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"id"')
    port = dying.sockets[0].getsockname()[1]
    transport = make_transport()
    try:
        with running_fake_upstream(FakeUpstream(name="alive")) as (url, fake):
            pool = ReplicaPool(transport, [f"http://127.0.0.1:{port}", url])
            pool.replicas[1].in_flight = 10
            status, content = await pool.request("POST", "/v1/completions", b'{"prompt":"x"}')
            assert status == 200
            assert b"cmpl-alive" in content
            assert fake.requests == 1
    finally:
        dying.close()
        await transport.aclose()


@pytest.mark.parametrize(
    "dies_with",
    [
        b"",
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
    ],
    ids=["before-the-headers", "before-the-first-chunk"],
)
async def test_replica_dying_before_the_first_byte_fails_over(dies_with: bytes) -> None:
    """A replica that takes the request and dies before streaming anything (a crash): the
    stream is served by the next replica, the client never sees the failure."""
    dying = await _crashing_server(dies_with)
    port = dying.sockets[0].getsockname()[1]
    transport = make_transport()
    try:
        with running_fake_upstream(FakeUpstream(name="alive")) as (url, fake):
            pool = ReplicaPool(transport, [f"http://127.0.0.1:{port}", url])
            pool.replicas[1].in_flight = 10  # the dying one looks idle and is tried first
            body = b'{"prompt":"x","stream":true}'
            async with pool.stream("POST", "/v1/completions", body) as (response, chunks):
                assert response.status_code == 200
                assert b"cmpl-alive" in b"".join([chunk async for chunk in chunks])
            assert fake.requests == 1
            assert not pool.replicas[0].healthy(pool.replicas[0].failed_at + 1)
    finally:
        dying.close()
        await transport.aclose()
