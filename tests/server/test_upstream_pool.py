"""Replica choice (least in flight), failover on refused connections, error mapping."""

from __future__ import annotations

import httpx2
import pytest

from tensormesh_server.engines.upstream import ReplicaPool, upstream_error
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


async def test_all_replicas_down_is_503() -> None:
    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    async with httpx2.AsyncHTTPTransport() as transport:
        pool = ReplicaPool(transport, urls)
        with pytest.raises(APIError) as caught:
            await pool.request("POST", "/v1/completions", b"{}")
        assert caught.value.status == 503
        assert "no upstream replica is reachable" in caught.value.message
        assert urls[0] in caught.value.message
        assert await pool.check("/health") is not None


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
