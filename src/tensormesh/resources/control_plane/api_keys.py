"""`control_plane.users.api_keys`: inference API keys (the secret is shown once, at creation)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._options import RequestOptions
from tensormesh._resource import to_async_raw, to_async_streamed, to_raw, to_streamed
from tensormesh.types.control_plane import (
    ApiKeyCreate,
    ApiKeyCreateParams,
    ApiKeyList,
    ApiKeyListParams,
    ApiKeyReply,
    Empty,
)

from ._base import AsyncControlPlaneResource, ControlPlaneResource
from ._wire import body_params, query_params

__all__ = ["ApiKeys", "AsyncApiKeys"]

PATH = "/v1/users/api-keys"
LIST_API_KEYS: Endpoint[ApiKeyList, None] = Endpoint("GET", PATH, ApiKeyList, surface=CONTROL_PLANE)
CREATE_API_KEY: Endpoint[ApiKeyReply, None] = Endpoint(
    "POST", PATH, ApiKeyReply, surface=CONTROL_PLANE
)
DELETE_API_KEY: Endpoint[Empty, None] = Endpoint("DELETE", PATH, Empty, surface=CONTROL_PLANE)


def _delete_params(api_key: str, user_id: str | None, options: RequestOptions) -> dict[str, Any]:
    return query_params({"api_key": api_key, "user_id": user_id, **options})


class ApiKeys(ControlPlaneResource):
    """Inference API keys of a user (yours, or another user's for admins: `user_id`)."""

    def list(self, **params: Unpack[ApiKeyListParams]) -> ApiKeyList:
        """GET /v1/users/api-keys: the keys (`.api_keys`), without their secrets."""
        return self._fetch(LIST_API_KEYS, query_params(params))

    def create(self, **params: Unpack[ApiKeyCreateParams]) -> ApiKeyReply:
        """POST /v1/users/api-keys: a new key; `.api_key.key` is the secret, shown only now."""
        return self._fetch(CREATE_API_KEY, body_params(params, ApiKeyCreate))

    def delete(
        self, *, api_key: str, user_id: str | None = None, **options: Unpack[RequestOptions]
    ) -> Empty:
        """DELETE /v1/users/api-keys: revoke a key, named by its id or by the key itself."""
        return self._fetch(DELETE_API_KEY, _delete_params(api_key, user_id, options))

    @cached_property
    def with_raw_response(self) -> ApiKeysWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return ApiKeysWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> ApiKeysWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return ApiKeysWithStreamingResponse(self)


class AsyncApiKeys(AsyncControlPlaneResource):
    """Inference API keys of a user (async)."""

    async def list(self, **params: Unpack[ApiKeyListParams]) -> ApiKeyList:
        """GET /v1/users/api-keys: the keys (`.api_keys`), without their secrets."""
        return await self._fetch(LIST_API_KEYS, query_params(params))

    async def create(self, **params: Unpack[ApiKeyCreateParams]) -> ApiKeyReply:
        """POST /v1/users/api-keys: a new key; `.api_key.key` is the secret, shown only now."""
        return await self._fetch(CREATE_API_KEY, body_params(params, ApiKeyCreate))

    async def delete(
        self, *, api_key: str, user_id: str | None = None, **options: Unpack[RequestOptions]
    ) -> Empty:
        """DELETE /v1/users/api-keys: revoke a key, named by its id or by the key itself."""
        return await self._fetch(DELETE_API_KEY, _delete_params(api_key, user_id, options))

    @cached_property
    def with_raw_response(self) -> AsyncApiKeysWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncApiKeysWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncApiKeysWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncApiKeysWithStreamingResponse(self)


class ApiKeysWithRawResponse:
    def __init__(self, resource: ApiKeys) -> None:
        self.list = to_raw(resource.list)
        self.create = to_raw(resource.create)
        self.delete = to_raw(resource.delete)


class ApiKeysWithStreamingResponse:
    def __init__(self, resource: ApiKeys) -> None:
        self.list = to_streamed(resource.list)
        self.create = to_streamed(resource.create)
        self.delete = to_streamed(resource.delete)


class AsyncApiKeysWithRawResponse:
    def __init__(self, resource: AsyncApiKeys) -> None:
        self.list = to_async_raw(resource.list)
        self.create = to_async_raw(resource.create)
        self.delete = to_async_raw(resource.delete)


class AsyncApiKeysWithStreamingResponse:
    def __init__(self, resource: AsyncApiKeys) -> None:
        self.list = to_async_streamed(resource.list)
        self.create = to_async_streamed(resource.create)
        self.delete = to_async_streamed(resource.delete)
