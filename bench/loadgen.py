"""A raw asyncio HTTP/1.1 load client (uvloop when available) that is never the bottleneck.

Each worker keeps one request in flight: it sends a prebuilt request, waits for the whole
response (content-length or chunked), records the latency and sends the next. It parses only what
it must: the status line, the content-length or the end of a chunked body. With several
endpoints (replicas behind a load balancer) each worker holds a keep-alive connection to every
one and spreads its requests over them round-robin, as an HTTP load balancer would; with several
requests per endpoint (e.g. streamed and not) it sends them in turn.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, cast
from urllib.parse import urlsplit


def build_request(url: str, body: object, headers: dict[str, str] | None = None) -> bytes:
    """The bytes of a keep-alive POST of `body` as JSON to `url`."""
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"host: {parts.netloc}",
        "content-type: application/json",
        f"content-length: {len(payload)}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Endpoint(NamedTuple):
    """Where requests go: a host, a port and the requests to send there in turn."""

    host: str
    port: int
    requests: Sequence[bytes]


@dataclass
class LoadResult:
    """Latencies (seconds) of the 200 answers, the other answers (errors, counted by status),
    the measured wall time, and (filled in by callers that know the servers' pids) their CPU
    seconds per request."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu: float | None = None

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("connection closed"))
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        status = self._complete()
        if status is not None and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(status)

    def _complete(self) -> int | None:
        """The status of a complete response in the buffer (which is then consumed), or None."""
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(buffer[:end]).lower()
        status = int(head[9:12])
        start = head.find(b"\r\ncontent-length:")
        if start >= 0:
            stop = head.find(b"\r\n", start + 2)
            total = end + 4 + int(head[start + 17 : stop if stop > 0 else len(head)])
        elif b"transfer-encoding: chunked" in head:
            last = buffer.find(b"\r\n0\r\n\r\n", end)
            if last < 0:
                return None
            total = last + 7
        else:
            total = end + 4
        if len(buffer) < total:
            return None
        del buffer[:total]
        return status

    async def exchange(self, request: bytes) -> int:
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(request)
        return await self.waiter


async def run_load(
    endpoints: Sequence[Endpoint], *, concurrency: int, seconds: float, warmup: float = 0.3
) -> LoadResult:
    """Keep `concurrency` requests in flight for `seconds` (after `warmup` seconds unrecorded),
    spread round-robin over `endpoints`; requests sent before the end are all waited for."""
    loop = asyncio.get_running_loop()
    workers: list[list[_Connection]] = []
    try:
        for _ in range(concurrency):
            workers.append([])
            for endpoint in endpoints:
                _, protocol = await loop.create_connection(
                    _Connection, endpoint.host, endpoint.port
                )
                workers[-1].append(protocol)
        result = LoadResult()
        began = time.perf_counter()
        record_from = began + warmup
        stop = record_from + seconds

        async def worker(number: int, connections: list[_Connection]) -> None:
            clock = time.perf_counter
            spread = len(endpoints)
            turn = number
            while True:
                sent = clock()
                if sent >= stop:
                    return
                endpoint = turn % spread
                requests = endpoints[endpoint].requests
                request = requests[(turn // spread) % len(requests)]
                turn += 1
                status = await connections[endpoint].exchange(request)
                if sent >= record_from:
                    if status == 200:
                        result.latencies.append(clock() - sent)
                    else:
                        result.errors += 1
                        result.statuses[status] += 1

        await asyncio.gather(*(worker(n, c) for n, c in enumerate(workers)))
    finally:
        for connections in workers:
            for connection in connections:
                if connection.transport is not None:
                    connection.transport.close()
    result.seconds = time.perf_counter() - record_from
    return result
