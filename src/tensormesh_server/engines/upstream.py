"""Pooled HTTP access to OpenAI-compatible replicas: least-in-flight choice, failover, errors."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx2

from tensormesh_server.errors import APIError, upstream_unavailable
from tensormesh_server.models_config import DEFAULT_UPSTREAM_TIMEOUT_SECONDS

logger = logging.getLogger("tensormesh_server")

RETRY_AFTER_FAILURE_SECONDS = 5.0
"""A replica that refused a connection is tried last for this long."""

FAILOVER_STATUSES = frozenset({502, 503})
"""Answers after which a request goes to another replica (when one remains)."""

_TIMEOUTS = {"connect": 5.0, "read": DEFAULT_UPSTREAM_TIMEOUT_SECONDS, "write": 60.0, "pool": 60.0}
_LIMITS = httpx2.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=30.0)


class Replica:
    """One upstream base URL, its load, and its health.

    `name` ("replica 2") is what clients see in error messages: upstream addresses are the
    operator's business and go to the log only.
    `failed_at`: the last refused connection (the replica is tried last for a while after);
    `down`/`reason`: set by a health monitor (registry.health) until a check passes again.
    """

    __slots__ = ("_urls", "down", "failed_at", "in_flight", "name", "reason", "url")

    def __init__(self, url: str, name: str = "replica") -> None:
        self.url = url
        self.name = name
        self.in_flight = 0
        self.failed_at = -1e9
        self.down = False
        self.reason = ""
        self._urls: dict[str, httpx2.URL] = {}

    def url_for(self, path: str) -> httpx2.URL:
        """The parsed URL of `path` on this replica (parsed once)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx2.URL(self.url + path)
        return url

    def healthy(self, now: float) -> bool:
        """False while marked down, and for a short while after a connection failure."""
        return not self.down and now - self.failed_at >= RETRY_AFTER_FAILURE_SECONDS


def make_transport() -> httpx2.AsyncBaseTransport:
    """The connection pool shared by every engine of one server.

    The gateway sends fully formed requests through a transport directly: the client layer
    (URL merging, cookies, auth and redirect handling) costs time and does nothing here.
    `http://` upstreams go through the lean HTTP/1.1 transport of `http11`; `https://` ones
    through httpx2's own transport.
    """
    from .http11 import HTTP11Transport

    tls = httpx2.AsyncHTTPTransport(limits=_LIMITS, retries=0)
    return HTTP11Transport(
        max_connections=_LIMITS.max_connections or 512,
        max_idle_per_origin=_LIMITS.max_keepalive_connections or 128,
        keepalive_expiry=_LIMITS.keepalive_expiry or 30.0,
        fallback=tls,
    )


def upstream_error(status: int, content: bytes, source: str) -> APIError:
    """Map an upstream error response to our error shape (`source`: the replica's name)."""
    error: Any = None
    with suppress(ValueError, AttributeError):
        error = json.loads(content).get("error")
    if isinstance(error, str):
        error = {"message": error}
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        text = content.decode(errors="replace").strip()[:200]
        error = {
            "message": f"upstream {source} answered HTTP {status}" + (f": {text}" if text else "")
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
    """Sends requests to the least busy healthy replica, failing over on connection errors.

    `read_timeout`: how long a replica may stay silent, before its answer starts or between
    two pieces of it; then the request fails with a 504 `timeout` APIError.
    """

    def __init__(
        self,
        transport: httpx2.AsyncBaseTransport,
        urls: Sequence[str],
        api_key: str | None = None,
        read_timeout: float = DEFAULT_UPSTREAM_TIMEOUT_SECONDS,
    ) -> None:
        if not urls:
            raise ValueError("a replica pool needs at least one URL")
        self.timeouts = {**_TIMEOUTS, "read": read_timeout}
        self.transport = transport
        self.replicas = [Replica(url, f"replica {n}") for n, url in enumerate(urls, 1)]
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
        timeouts: Mapping[str, float] | None = None,
    ) -> httpx2.Request:
        url = replica.url_for(path)
        timeouts = self.timeouts if timeouts is None else timeouts
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
        return sorted(order, key=lambda r: (r.down, not r.healthy(now), r.in_flight))

    async def _send(
        self, replica: Replica, method: str, path: str, body: bytes | None, request_id: str | None
    ) -> httpx2.Response | str:
        """The response (body not read yet), or why to try another replica: the request
        never reached a working server, so nothing was generated and nothing was sent."""
        request = self._request(method, replica, path, body, request_id)
        try:
            response = await self.transport.handle_async_request(request)
        except httpx2.ConnectTimeout as exc:
            return self._failed(replica, exc)
        except httpx2.TimeoutException as exc:
            raise _timed_out(replica) from exc
        except httpx2.TransportError as exc:  # refused, reset, closed before the headers
            return self._failed(replica, exc)
        response.request = request
        return response

    @staticmethod
    def _failed(replica: Replica, exc: Exception) -> str:
        replica.failed_at = time.monotonic()
        return _failure(replica, exc)

    @staticmethod
    async def _refused(response: httpx2.Response, replica: Replica, last: bool) -> str | None:
        """Why to fail over on this answer (a 502/503 while other replicas remain), or None."""
        if last or response.status_code not in FAILOVER_STATUSES:
            return None
        await response.aclose()
        replica.failed_at = time.monotonic()
        return f"{replica.name} (HTTP {response.status_code})"

    @asynccontextmanager
    async def open(
        self, method: str, path: str, body: bytes | None, request_id: str | None = None
    ) -> AsyncIterator[httpx2.Response]:
        """Send a request and yield the streamed response (the body is not read yet).

        Until a response is yielded, failures move on to the next replica; when all fail, a
        503 APIError. Once yielded, a transport error is a 502 APIError.
        """
        async with self._open(method, path, body, request_id, prime=False) as (response, _):
            yield response

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, body: bytes | None, request_id: str | None = None
    ) -> AsyncIterator[tuple[httpx2.Response, AsyncIterator[bytes]]]:
        """Like `open`, but a 200 answer is yielded only once its first bytes arrived, with
        an iterator of all its bytes: a replica that fails before that (nothing was streamed
        to the client yet) is replaced by the next one."""
        async with self._open(method, path, body, request_id, prime=True) as opened:
            yield opened

    @asynccontextmanager
    async def _open(
        self, method: str, path: str, body: bytes | None, request_id: str | None, *, prime: bool
    ) -> AsyncIterator[tuple[httpx2.Response, AsyncIterator[bytes]]]:
        failures: list[str] = []
        candidates = self.candidates()
        for number, replica in enumerate(candidates, 1):
            last = number == len(candidates)
            replica.in_flight += 1
            try:
                outcome = await self._send(replica, method, path, body, request_id)
                if isinstance(outcome, str):
                    failures.append(outcome)
                    continue
                refused = await self._refused(outcome, replica, last)
                if refused is not None:
                    failures.append(refused)
                    continue
                chunks: AsyncIterator[bytes] = outcome.aiter_raw()
                if prime and outcome.status_code == 200:
                    try:
                        chunks = _prepend(await anext(chunks, b""), chunks)
                    except httpx2.TimeoutException as exc:
                        await outcome.aclose()
                        raise _timed_out(replica) from exc
                    except httpx2.TransportError as exc:  # died before streaming anything
                        await outcome.aclose()
                        failures.append(self._failed(replica, exc))
                        continue
                try:
                    yield outcome, chunks
                except httpx2.TimeoutException as exc:
                    raise _timed_out(replica) from exc
                except httpx2.TransportError as exc:
                    raise APIError(
                        502,
                        f"upstream {_failure(replica, exc)} failed mid-answer",
                        type="upstream_error",
                        code="upstream_error",
                    ) from exc
                finally:
                    await outcome.aclose()
                return
            finally:
                replica.in_flight -= 1
        raise upstream_unavailable("no upstream replica is reachable: " + "; ".join(failures))

    async def request(
        self, method: str, path: str, body: bytes | None, request_id: str | None = None
    ) -> tuple[int, bytes]:
        """Send a request and read the whole answer; a replica that fails before the answer is
        complete is replaced by the next one (nothing reached the client yet)."""
        failures: list[str] = []
        candidates = self.candidates()
        for number, replica in enumerate(candidates, 1):
            replica.in_flight += 1
            try:
                outcome = await self._send(replica, method, path, body, request_id)
                if isinstance(outcome, str):
                    failures.append(outcome)
                    continue
                refused = await self._refused(outcome, replica, number == len(candidates))
                if refused is not None:
                    failures.append(refused)
                    continue
                try:
                    return outcome.status_code, await outcome.aread()
                except httpx2.TimeoutException as exc:
                    raise _timed_out(replica) from exc
                except httpx2.TransportError as exc:
                    failures.append(self._failed(replica, exc))
                finally:
                    await outcome.aclose()
            finally:
                replica.in_flight -= 1
        raise upstream_unavailable("no upstream replica is reachable: " + "; ".join(failures))

    async def probe(self, replica: Replica, path: str, timeout: float = 2.0) -> str | None:
        """None when `replica` answers `path` below 500 within `timeout`, else why not."""
        timeouts = dict.fromkeys(_TIMEOUTS, timeout)
        request = self._request("GET", replica, path, None, None, timeouts)
        try:
            response = await self.transport.handle_async_request(request)
            await response.aclose()
        except httpx2.HTTPError as exc:
            return f"{replica.name} unreachable ({_kind(exc)})"
        if response.status_code >= 500:
            return f"{replica.name} answered HTTP {response.status_code}"
        return None

    async def check(self, path: str, timeout: float = 2.0) -> str | None:
        """None when some replica answers `path` below 500, else why none does."""
        problems: list[str] = []
        for replica in self.replicas:
            problem = await self.probe(replica, path, timeout)
            if problem is None:
                return None
            problems.append(problem)
        return "; ".join(problems)


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def _timed_out(replica: Replica) -> APIError:
    logger.warning("upstream %s (%s) timed out", replica.name, replica.url)
    return APIError(
        504, f"upstream {replica.name} timed out", type="upstream_error", code="timeout"
    )


def _failure(replica: Replica, exc: Exception) -> str:
    """What clients are told of a failed replica; the log gets its address and the details."""
    detail = str(exc).strip() or type(exc).__name__
    logger.warning("upstream %s (%s): %s", replica.name, replica.url, detail)
    return f"{replica.name} ({_kind(exc)})"


def _kind(exc: Exception) -> str:
    """A description of a transport failure that names no address."""
    if isinstance(exc, httpx2.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx2.ConnectError):
        return "cannot connect"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return "closed the connection"
    if isinstance(exc, httpx2.ReadError | httpx2.WriteError):
        return "connection lost"
    return type(exc).__name__
