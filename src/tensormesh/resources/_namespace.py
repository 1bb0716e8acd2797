"""Base of the per-surface namespaces (`inference.serverless`, `control_plane`): the
`request(method, path, ...)` escape hatch for routes the SDK does not wrap."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

from tensormesh._endpoints import Endpoint
from tensormesh._resource import (
    AsyncAPIResource,
    SyncAPIResource,
    to_async_raw,
    to_async_streamed,
    to_raw,
    to_streamed,
)

__all__ = ["AsyncSurfaceNamespace", "SyncSurfaceNamespace"]


def _endpoint(surface: str, method: str, path: str) -> Endpoint[Any, None]:
    if not path.startswith("/"):
        path = "/" + path
    return Endpoint(method.upper(), path, None, surface=surface, needs_auth=False)


def _options(headers: Mapping[str, str] | None, timeout: float | None) -> dict[str, Any]:
    return {"extra_headers": headers, "timeout": timeout}


class SyncSurfaceNamespace(SyncAPIResource):
    _surface: ClassVar[str]

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Call any route of this surface; return the decoded JSON body (None if empty).

        Uses this surface's base URL and credential (sent when configured), the retry policy
        and the SDK's errors.
        """
        return self._call(
            _endpoint(self._surface, method, path),
            _options(headers, timeout),
            query=params,
            json_data=json,
        )

    @cached_property
    def with_raw_response(self) -> SurfaceWithRawResponse:
        """`request(...)` returning a RawResponse."""
        return SurfaceWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> SurfaceWithStreamingResponse:
        """`request(...)` returning a context manager around a StreamedResponse."""
        return SurfaceWithStreamingResponse(self)


class AsyncSurfaceNamespace(AsyncAPIResource):
    _surface: ClassVar[str]

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Call any route of this surface; return the decoded JSON body (None if empty)."""
        return await self._call(
            _endpoint(self._surface, method, path),
            _options(headers, timeout),
            query=params,
            json_data=json,
        )

    @cached_property
    def with_raw_response(self) -> AsyncSurfaceWithRawResponse:
        """`request(...)` returning a RawResponse."""
        return AsyncSurfaceWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncSurfaceWithStreamingResponse:
        """`request(...)` returning an async context manager around a StreamedResponse."""
        return AsyncSurfaceWithStreamingResponse(self)


class SurfaceWithRawResponse:
    def __init__(self, namespace: SyncSurfaceNamespace) -> None:
        self.request = to_raw(namespace.request)


class SurfaceWithStreamingResponse:
    def __init__(self, namespace: SyncSurfaceNamespace) -> None:
        self.request = to_streamed(namespace.request)


class AsyncSurfaceWithRawResponse:
    def __init__(self, namespace: AsyncSurfaceNamespace) -> None:
        self.request = to_async_raw(namespace.request)


class AsyncSurfaceWithStreamingResponse:
    def __init__(self, namespace: AsyncSurfaceNamespace) -> None:
        self.request = to_async_streamed(namespace.request)
