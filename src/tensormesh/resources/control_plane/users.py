"""`control_plane.users`: the signed-in user's profile, updates, terms of service, and
`users.api_keys` (see api_keys.py)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._options import RequestOptions
from tensormesh._resource import (
    to_async_raw,
    to_async_streamed,
    to_raw,
    to_streamed,
)
from tensormesh.types.control_plane import Empty, UserReply, UserUpdate, UserUpdateParams

from ._base import AsyncControlPlaneResource, ControlPlaneResource
from ._wire import body_params

if TYPE_CHECKING:
    from .api_keys import ApiKeys, AsyncApiKeys

__all__ = ["AsyncUsers", "Users"]

GET_AUTH_PROFILE: Endpoint[UserReply, None] = Endpoint(
    "GET", "/auth/profile", UserReply, surface=CONTROL_PLANE
)
GET_USER: Endpoint[UserReply, None] = Endpoint(
    "GET", "/v1/users/{user_id}", UserReply, surface=CONTROL_PLANE
)
UPDATE_USER: Endpoint[Empty, None] = Endpoint(
    "PUT", "/v1/users/{user_id}", Empty, surface=CONTROL_PLANE
)
ACCEPT_TOS: Endpoint[UserReply, None] = Endpoint(
    "POST", "/v1/users/accept-tos", UserReply, surface=CONTROL_PLANE
)


class Users(ControlPlaneResource):
    """Users of the Control Plane (the access token's user, or another one for admins)."""

    def get_auth_profile(self, **options: Unpack[RequestOptions]) -> UserReply:
        """GET /auth/profile: the user the access token belongs to (`.user`)."""
        return self._fetch(GET_AUTH_PROFILE, options)

    def get(self, user_id: str, **options: Unpack[RequestOptions]) -> UserReply:
        """GET /v1/users/{user_id}: one user (yourself, or anyone for admins)."""
        return self._fetch_at(GET_USER, options, user_id=user_id)

    def update(self, user_id: str, **params: Unpack[UserUpdateParams]) -> Empty:
        """PUT /v1/users/{user_id}: change the names or company (fields not given stay)."""
        return self._fetch_at(UPDATE_USER, body_params(params, UserUpdate), user_id=user_id)

    def accept_tos(self, **options: Unpack[RequestOptions]) -> UserReply:
        """POST /v1/users/accept-tos: accept the terms of service; returns the updated user."""
        return self._fetch(ACCEPT_TOS, options)

    @cached_property
    def api_keys(self) -> ApiKeys:
        """The user's inference API keys."""
        from .api_keys import ApiKeys

        return ApiKeys(self._transport)

    @cached_property
    def with_raw_response(self) -> UsersWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return UsersWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> UsersWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return UsersWithStreamingResponse(self)


class AsyncUsers(AsyncControlPlaneResource):
    """Users of the Control Plane (async)."""

    async def get_auth_profile(self, **options: Unpack[RequestOptions]) -> UserReply:
        """GET /auth/profile: the user the access token belongs to (`.user`)."""
        return await self._fetch(GET_AUTH_PROFILE, options)

    async def get(self, user_id: str, **options: Unpack[RequestOptions]) -> UserReply:
        """GET /v1/users/{user_id}: one user (yourself, or anyone for admins)."""
        return await self._fetch_at(GET_USER, options, user_id=user_id)

    async def update(self, user_id: str, **params: Unpack[UserUpdateParams]) -> Empty:
        """PUT /v1/users/{user_id}: change the names or company (fields not given stay)."""
        return await self._fetch_at(UPDATE_USER, body_params(params, UserUpdate), user_id=user_id)

    async def accept_tos(self, **options: Unpack[RequestOptions]) -> UserReply:
        """POST /v1/users/accept-tos: accept the terms of service; returns the updated user."""
        return await self._fetch(ACCEPT_TOS, options)

    @cached_property
    def api_keys(self) -> AsyncApiKeys:
        """The user's inference API keys."""
        from .api_keys import AsyncApiKeys

        return AsyncApiKeys(self._transport)

    @cached_property
    def with_raw_response(self) -> AsyncUsersWithRawResponse:
        """The same methods, returning a `RawResponse` (`.parse()` gives the result)."""
        return AsyncUsersWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncUsersWithStreamingResponse:
        """The same methods, returning a context manager around the unread response."""
        return AsyncUsersWithStreamingResponse(self)


class UsersWithRawResponse:
    def __init__(self, resource: Users) -> None:
        self.get_auth_profile = to_raw(resource.get_auth_profile)
        self.get = to_raw(resource.get)
        self.update = to_raw(resource.update)
        self.accept_tos = to_raw(resource.accept_tos)


class UsersWithStreamingResponse:
    def __init__(self, resource: Users) -> None:
        self.get_auth_profile = to_streamed(resource.get_auth_profile)
        self.get = to_streamed(resource.get)
        self.update = to_streamed(resource.update)
        self.accept_tos = to_streamed(resource.accept_tos)


class AsyncUsersWithRawResponse:
    def __init__(self, resource: AsyncUsers) -> None:
        self.get_auth_profile = to_async_raw(resource.get_auth_profile)
        self.get = to_async_raw(resource.get)
        self.update = to_async_raw(resource.update)
        self.accept_tos = to_async_raw(resource.accept_tos)


class AsyncUsersWithStreamingResponse:
    def __init__(self, resource: AsyncUsers) -> None:
        self.get_auth_profile = to_async_streamed(resource.get_auth_profile)
        self.get = to_async_streamed(resource.get)
        self.update = to_async_streamed(resource.update)
        self.accept_tos = to_async_streamed(resource.accept_tos)
