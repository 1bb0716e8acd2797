"""`control_plane.admin.users`: every user, and changing a user's role (admins only)."""

from __future__ import annotations

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._pagination import AsyncPager, NumberedPages, SyncPager
from tensormesh.resources.control_plane._base import (
    AsyncControlPlaneResource,
    ControlPlaneResource,
)
from tensormesh.resources.control_plane._wire import body_params
from tensormesh.types.control_plane import User, UserReply
from tensormesh.types.operations import (
    AdminUserList,
    AdminUserListParams,
    AdminUserListQuery,
    ChangeRoleParams,
    ChangeRoleRequest,
)

__all__ = ["AdminUsers", "AsyncAdminUsers"]

LIST_USERS: Endpoint[AdminUserList, None] = Endpoint(
    "GET", "/v1/admin/users", AdminUserList, surface=CONTROL_PLANE
)
CHANGE_ROLE: Endpoint[UserReply, None] = Endpoint(
    "POST", "/v1/admin/users/change_role", UserReply, surface=CONTROL_PLANE
)
PAGES = NumberedPages("users")


class AdminUsers(ControlPlaneResource):
    """All users of the control plane (USER_ROLE_ADMIN or USER_ROLE_SUPER_ADMIN only)."""

    def list(self, **params: Unpack[AdminUserListParams]) -> AdminUserList:
        """GET /v1/admin/users: one page (`.users`, `.page`, `.size`, `.total`)."""
        return self._fetch(LIST_USERS, body_params(params, AdminUserListQuery))

    def auto_paging_iter(
        self, **params: Unpack[AdminUserListParams]
    ) -> SyncPager[AdminUserList, User]:
        """Every user, fetching pages lazily while iterating."""
        return SyncPager(self.list, PAGES, params)

    def change_role(self, **params: Unpack[ChangeRoleParams]) -> UserReply:
        """POST /v1/admin/users/change_role: give a user another role (UserRole or its
        string); returns the updated user. The last super admin cannot be demoted."""
        return self._fetch(CHANGE_ROLE, body_params(params, ChangeRoleRequest))


class AsyncAdminUsers(AsyncControlPlaneResource):
    """All users of the control plane (async): the same methods as `AdminUsers`."""

    async def list(self, **params: Unpack[AdminUserListParams]) -> AdminUserList:
        """GET /v1/admin/users: one page (`.users`, `.page`, `.size`, `.total`)."""
        return await self._fetch(LIST_USERS, body_params(params, AdminUserListQuery))

    def auto_paging_iter(
        self, **params: Unpack[AdminUserListParams]
    ) -> AsyncPager[AdminUserList, User]:
        """Every user (`async for`), fetching pages lazily while iterating."""
        return AsyncPager(self.list, PAGES, params)

    async def change_role(self, **params: Unpack[ChangeRoleParams]) -> UserReply:
        """POST /v1/admin/users/change_role: give a user another role; returns the user."""
        return await self._fetch(CHANGE_ROLE, body_params(params, ChangeRoleRequest))
