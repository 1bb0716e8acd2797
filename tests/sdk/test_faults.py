"""Fault tests against a real loopback server that misbehaves: each fault gives the documented
number of attempts and the SDK's own error, never a raw httpx2/json exception."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tensormesh import (
    APIConnectionError,
    APITimeoutError,
    AsyncTensormesh,
    InternalServerError,
    ProtocolError,
    RateLimitError,
    StreamError,
    Tensormesh,
)
from tensormesh._retry import RetryPolicy
from tests.support.servers import free_port

from .fault_server import Exchange, FaultServer, fault_server

# Real Retry-After values are honoured but capped; the cap is lowered so the tests stay fast.
POLICY = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02, max_retry_after=0.05)
CHAT = "/v1/chat/completions"
CHUNK = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "a"}}]}
EVENT = b"data: " + json.dumps(CHUNK).encode() + b"\n\n"


@pytest.fixture
def faulty() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


class Client:
    """Runs the same call through a sync or an async client."""

    def __init__(self, mode: str, url: str, **options: Any) -> None:
        self.mode = mode
        options = {"serverless_base_url": url, "inference_api_key": "k", "env": {}, **options}
        self.sync = Tensormesh(**options) if mode == "sync" else None
        self.aio = AsyncTensormesh(**options) if mode == "async" else None
        for client in (self.sync, self.aio):
            if client is not None:
                client._transport.retry_policy = POLICY

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """`name` is a dotted path below `inference.serverless`, e.g. "models.list"."""
        target: Any = (self.sync or self.aio).inference.serverless  # type: ignore[union-attr]
        for part in name.split("."):
            target = getattr(target, part)
        result = target(*args, **kwargs)
        return await result if self.mode == "async" else result

    async def drain(self, stream: Any, into: list[Any] | None = None) -> list[Any]:
        """Iterate the stream to its end, appending events to `into` as they arrive."""
        seen = [] if into is None else into
        if self.mode == "async":
            async for event in stream:
                seen.append(event)
        else:
            seen.extend(stream)
        return seen

    async def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.aio is not None:
            await self.aio.close()


@pytest.fixture
async def client(mode: str, faulty: FaultServer) -> Any:
    wrapper = Client(mode, faulty.url, timeout=5)
    yield wrapper
    await wrapper.close()


def rate_limited(exchange: Exchange) -> None:
    exchange.respond(
        "429 Too Many Requests",
        b'{"error": {"message": "Server is overloaded", "type": "rate_limit"}}',
        {"Retry-After": "1", "Content-Type": "application/json"},
    )


async def test_429_get_is_retried_twice_post_never(client: Client, faulty: FaultServer) -> None:
    faulty.routes["/v1/models"] = rate_limited
    faulty.routes[CHAT] = rate_limited
    started = time.monotonic()
    with pytest.raises(RateLimitError, match="Server is overloaded") as info:
        await client.call("models.list")
    assert time.monotonic() - started < 0.9  # Retry-After: 1 capped at 0.05 s
    assert faulty.count("/v1/models") == 3
    assert info.value.status_code == 429
    with pytest.raises(RateLimitError):
        await client.call("chat.completions.create", model="m", messages=[])
    assert faulty.count(CHAT) == 1


async def test_503_then_200(client: Client, faulty: FaultServer) -> None:
    def flaky(exchange: Exchange) -> None:
        if exchange.attempt == 1:
            exchange.respond("503 Service Unavailable", b'{"status": "loading"}')
        else:
            exchange.respond("200 OK", b'{"object": "list", "data": [{"id": "m"}]}')

    faulty.routes["/v1/models"] = flaky
    models = await client.call("models.list")
    assert [m.id for m in models.data] == ["m"]
    assert faulty.count("/v1/models") == 2


async def test_503_every_time_gives_internal_server_error(
    client: Client, faulty: FaultServer
) -> None:
    faulty.routes["/health"] = lambda e: e.respond("503 Service Unavailable", b'{"status": "x"}')
    with pytest.raises(InternalServerError) as info:
        await client.call("health.get")
    assert info.value.body == {"status": "x"}
    assert faulty.count("/health") == 3


async def test_connection_reset(client: Client, faulty: FaultServer) -> None:
    faulty.routes["/version"] = Exchange.reset
    faulty.routes["/tokenize"] = Exchange.reset
    with pytest.raises(APIConnectionError) as info:
        await client.call("version.get")
    assert not isinstance(info.value, APITimeoutError)
    assert faulty.count("/version") == 3
    with pytest.raises(APIConnectionError):
        await client.call("tokenize.create", model="m", prompt="x")
    assert faulty.count("/tokenize") == 1


async def test_stream_that_stalls_times_out(mode: str, faulty: FaultServer) -> None:
    def stall(exchange: Exchange) -> None:
        exchange.start_chunked()
        exchange.chunk(EVENT)
        exchange.stop.wait(10)

    faulty.routes[CHAT] = stall
    client = Client(mode, faulty.url, timeout=0.3)
    try:
        stream = await client.call("chat.completions.create", model="m", messages=[], stream=True)
        seen: list[Any] = []
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.drain(stream, seen)
        assert time.monotonic() - started < 3
        assert len(seen) == 1
        assert stream.response.is_closed
    finally:
        await client.close()
    assert faulty.count(CHAT) == 1


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_stream_cut_mid_event(client: Client, faulty: FaultServer, how: str) -> None:
    def cut(exchange: Exchange) -> None:
        exchange.start_chunked()
        exchange.chunk(EVENT + b'data: {"choices": [{"ind')
        if how == "reset":
            exchange.reset()

    faulty.routes[CHAT] = cut
    stream = await client.call("chat.completions.create", model="m", messages=[], stream=True)
    with pytest.raises(StreamError):
        await client.drain(stream)
    assert stream.response.is_closed


async def test_stream_ended_cleanly_mid_event(client: Client, faulty: FaultServer) -> None:
    def ends(exchange: Exchange) -> None:
        exchange.start_chunked()
        exchange.chunk(EVENT + b'data: {"choices": [')
        exchange.send(b"0\r\n\r\n")  # a well-formed end of the body, in the middle of an event

    faulty.routes[CHAT] = ends
    stream = await client.call("chat.completions.create", model="m", messages=[], stream=True)
    with pytest.raises(StreamError, match="middle of an event"):
        await client.drain(stream)


async def test_invalid_json_on_200(client: Client, faulty: FaultServer) -> None:
    faulty.routes["/version"] = lambda e: e.respond("200 OK", b"{oops", {"x-request-id": "r-9"})
    with pytest.raises(ProtocolError) as info:
        await client.call("version.get")
    assert info.value.request_id == "r-9"
    assert faulty.count("/version") == 1


async def test_nothing_listening(mode: str) -> None:
    client = Client(mode, f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(APIConnectionError, match="failed"):
            await client.call("version.get")
    finally:
        await client.close()
