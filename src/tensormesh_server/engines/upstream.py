"""Pooled HTTP access to OpenAI-compatible replicas: least-in-flight choice, failover, errors."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx2

from tensormesh_server.errors import APIError, upstream_unavailable

RETRY_AFTER_FAILURE_SECONDS = 5.0
"""A replica that refused a connection is tried last for this long."""

_TIMEOUTS = {"connect": 5.0, "read": 600.0, "write": 60.0, "pool": 60.0}
_LIMITS = httpx2.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=30.0)


class Replica:
    """One upstream base URL and its load."""

    __slots__ = ("_urls", "failed_at", "in_flight", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.in_flight = 0
        self.failed_at = -1e9
        self._urls: dict[str, httpx2.URL] = {}

    def url_for(self, path: str) -> httpx2.URL:
        """The parsed URL of `path` on this replica (parsed once)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx2.URL(self.url + path)
        return url

    def healthy(self, now: float) -> bool:
        """False for a short while after a connection failure."""
        return now - self.failed_at >= RETRY_AFTER_FAILURE_SECONDS


def make_transport() -> httpx2.AsyncHTTPTransport:
    """The connection pool shared by every engine of one server.

    The gateway sends fully formed requests through httpx2's transport directly: the client
    layer (URL merging, cookies, auth and redirect handling) costs time and does nothing here.
    """
    return httpx2.AsyncHTTPTransport(limits=_LIMITS, retries=0)


def upstream_error(status: int, content: bytes, url: str) -> APIError:
    """Map an upstream error response to our error shape."""
    error: Any = None
    with suppress(ValueError, AttributeError):
        error = json.loads(content).get("error")
    if isinstance(error, str):
        error = {"message": error}
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        text = content.decode(errors="replace").strip()[:200]
        error = {
            "message": f"upstream {url} answered HTTP {status}" + (f": {text}" if text else "")
        }
    code = error.get("code")
    kind = error.get("type")
    if status >= 500:
        status = 503 if status == 503 else 502
    return APIError(
        status,
        error["message"],
        type=kind
        if isinstance(kind, str)
        else ("upstream_error" if status >= 500 else "invalid_request_error"),
        param=error.get("param") if isinstance(error.get("param"), str) else None,
        code=code if isinstance(code, str) else None,
    )


class ReplicaPool:
    """Sends requests to the least busy healthy replica, failing over on connection errors."""

    def __init__(
        self,
        transport: httpx2.AsyncBaseTransport,
        urls: Sequence[str],
        api_key: str | None = None,
    ) -> None:
        if not urls:
            raise ValueError("a replica pool needs at least one URL")
        self.transport = transport
        self.replicas = [Replica(url) for url in urls]
        self._headers = {"content-type": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._turn = itertools.count()

    def _request(
        self,
        method: str,
        replica: Replica,
        path: str,
        body: bytes | None,
        request_id: str | None,
        timeouts: Mapping[str, float] = _TIMEOUTS,
    ) -> httpx2.Request:
        url = replica.url_for(path)
        headers = (
            self._headers if request_id is None else {**self._headers, "x-request-id": request_id}
        )
        return httpx2.Request(
            method, url, headers=headers, content=body, extensions={"timeout": timeouts}
        )

    def candidates(self) -> list[Replica]:
        """Replicas in the order to try: healthy ones first, least in flight first."""
        now = time.monotonic()
        turn = next(self._turn)
        count = len(self.replicas)
        order = [self.replicas[(turn + i) % count] for i in range(count)]
        return sorted(order, key=lambda r: (not r.healthy(now), r.in_flight))

    @asynccontextmanager
    async def open(
        self, method: str, path: str, body: bytes | None, request_id: str | None = None
    ) -> AsyncIterator[httpx2.Response]:
        """Send a request and yield the streamed response (the body is not read yet).

        Connection failures move on to the next replica; when all fail, a 503 APIError.
        """
        failures: list[str] = []
        for replica in self.candidates():
            request = self._request(method, replica, path, body, request_id)
            replica.in_flight += 1
            try:
                try:
                    response = await self.transport.handle_async_request(request)
                    response.request = request
                except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
                    replica.failed_at = time.monotonic()
                    failures.append(f"{replica.url} ({_reason(exc)})")
                    continue
                try:
                    yield response
                finally:
                    await response.aclose()
                return
            except httpx2.TimeoutException as exc:
                raise APIError(
                    504, f"upstream {replica.url} timed out", type="upstream_error", code="timeout"
                ) from exc
            except httpx2.TransportError as exc:
                raise APIError(
                    502,
                    f"upstream {replica.url} failed: {_reason(exc)}",
                    type="upstream_error",
                    code="upstream_error",
                ) from exc
            finally:
                replica.in_flight -= 1
        raise upstream_unavailable("no upstream replica is reachable: " + "; ".join(failures))

    async def request(
        self, method: str, path: str, body: bytes | None, request_id: str | None = None
    ) -> tuple[int, bytes]:
        """Send a request and read the whole answer."""
        async with self.open(method, path, body, request_id) as response:
            return response.status_code, await response.aread()

    async def check(self, path: str, timeout: float = 2.0) -> str | None:
        """None when some replica answers `path` below 500, else why none does."""
        problems: list[str] = []
        for replica in self.replicas:
            timeouts = dict.fromkeys(_TIMEOUTS, timeout)
            request = self._request("GET", replica, path, None, None, timeouts)
            try:
                response = await self.transport.handle_async_request(request)
                await response.aclose()
            except httpx2.HTTPError as exc:
                problems.append(f"{replica.url} unreachable ({_reason(exc)})")
                continue
            if response.status_code < 500:
                return None
            problems.append(f"{replica.url} answered HTTP {response.status_code}")
        return "; ".join(problems)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
