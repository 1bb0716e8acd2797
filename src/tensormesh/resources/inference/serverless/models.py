"""`serverless.models`, `.health`, `.version`: the GET routes (no key needed)."""

from __future__ import annotations

from functools import cached_property

from typing_extensions import Unpack

from tensormesh._endpoints import Endpoint
from tensormesh._options import RequestOptions
from tensormesh._resource import (
    AsyncAPIResource,
    SyncAPIResource,
    to_async_raw,
    to_async_streamed,
    to_raw,
    to_streamed,
)
from tensormesh.types.models import Health, ModelList, Version

__all__ = [
    "AsyncHealthResource",
    "AsyncModels",
    "AsyncVersionResource",
    "HealthResource",
    "Models",
    "VersionResource",
]

LIST_MODELS: Endpoint[ModelList, None] = Endpoint("GET", "/v1/models", ModelList, needs_auth=False)
GET_HEALTH: Endpoint[Health, None] = Endpoint("GET", "/health", Health, needs_auth=False)
GET_VERSION: Endpoint[Version, None] = Endpoint("GET", "/version", Version, needs_auth=False)


class Models(SyncAPIResource):
    """The models you can pass as `model`."""

    def list(self, **options: Unpack[RequestOptions]) -> ModelList:
        """GET /v1/models."""
        return self._fetch(LIST_MODELS, options)

    @cached_property
    def with_raw_response(self) -> ModelsWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return ModelsWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> ModelsWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return ModelsWithStreamingResponse(self)


class AsyncModels(AsyncAPIResource):
    """The models you can pass as `model` (async)."""

    async def list(self, **options: Unpack[RequestOptions]) -> ModelList:
        """GET /v1/models."""
        return await self._fetch(LIST_MODELS, options)

    @cached_property
    def with_raw_response(self) -> AsyncModelsWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncModelsWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncModelsWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncModelsWithStreamingResponse(self)


class HealthResource(SyncAPIResource):
    """Whether the surface can serve (a 503 raises InternalServerError with `.body`)."""

    def get(self, **options: Unpack[RequestOptions]) -> Health:
        """GET /health."""
        return self._fetch(GET_HEALTH, options)

    @cached_property
    def with_raw_response(self) -> HealthWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return HealthWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> HealthWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return HealthWithStreamingResponse(self)


class AsyncHealthResource(AsyncAPIResource):
    """Whether the surface can serve (async)."""

    async def get(self, **options: Unpack[RequestOptions]) -> Health:
        """GET /health."""
        return await self._fetch(GET_HEALTH, options)

    @cached_property
    def with_raw_response(self) -> AsyncHealthWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncHealthWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncHealthWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncHealthWithStreamingResponse(self)


class VersionResource(SyncAPIResource):
    """The server's version."""

    def get(self, **options: Unpack[RequestOptions]) -> Version:
        """GET /version."""
        return self._fetch(GET_VERSION, options)

    @cached_property
    def with_raw_response(self) -> VersionWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return VersionWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> VersionWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return VersionWithStreamingResponse(self)


class AsyncVersionResource(AsyncAPIResource):
    """The server's version (async)."""

    async def get(self, **options: Unpack[RequestOptions]) -> Version:
        """GET /version."""
        return await self._fetch(GET_VERSION, options)

    @cached_property
    def with_raw_response(self) -> AsyncVersionWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncVersionWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncVersionWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncVersionWithStreamingResponse(self)


class ModelsWithRawResponse:
    def __init__(self, resource: Models) -> None:
        self.list = to_raw(resource.list)


class ModelsWithStreamingResponse:
    def __init__(self, resource: Models) -> None:
        self.list = to_streamed(resource.list)


class AsyncModelsWithRawResponse:
    def __init__(self, resource: AsyncModels) -> None:
        self.list = to_async_raw(resource.list)


class AsyncModelsWithStreamingResponse:
    def __init__(self, resource: AsyncModels) -> None:
        self.list = to_async_streamed(resource.list)


class HealthWithRawResponse:
    def __init__(self, resource: HealthResource) -> None:
        self.get = to_raw(resource.get)


class HealthWithStreamingResponse:
    def __init__(self, resource: HealthResource) -> None:
        self.get = to_streamed(resource.get)


class AsyncHealthWithRawResponse:
    def __init__(self, resource: AsyncHealthResource) -> None:
        self.get = to_async_raw(resource.get)


class AsyncHealthWithStreamingResponse:
    def __init__(self, resource: AsyncHealthResource) -> None:
        self.get = to_async_streamed(resource.get)


class VersionWithRawResponse:
    def __init__(self, resource: VersionResource) -> None:
        self.get = to_raw(resource.get)


class VersionWithStreamingResponse:
    def __init__(self, resource: VersionResource) -> None:
        self.get = to_streamed(resource.get)


class AsyncVersionWithRawResponse:
    def __init__(self, resource: AsyncVersionResource) -> None:
        self.get = to_async_raw(resource.get)


class AsyncVersionWithStreamingResponse:
    def __init__(self, resource: AsyncVersionResource) -> None:
        self.get = to_async_streamed(resource.get)
