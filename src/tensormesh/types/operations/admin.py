"""Admin user management (API.md §2 "Admin"): `/v1/admin/users`."""

from __future__ import annotations

from pydantic import Field
from typing_extensions import Required

from tensormesh._options import RequestOptions
from tensormesh.types.control_plane import ControlPlaneModel, User, UserRole

from ._common import NumberedPageFields

__all__ = [
    "AdminUserList",
    "AdminUserListParams",
    "AdminUserListQuery",
    "ChangeRoleParams",
    "ChangeRoleRequest",
]


class AdminUserList(NumberedPageFields):
    """`{users[], page, size, total}`: the reply of GET /v1/admin/users."""

    users: list[User] = Field(default_factory=list)


class AdminUserListQuery(ControlPlaneModel):
    """Query of GET /v1/admin/users."""

    page: int | None = Field(default=None, ge=1)
    size: int | None = Field(default=None, ge=1)


class ChangeRoleRequest(ControlPlaneModel):
    """Body of POST /v1/admin/users/change_role."""

    target_user_id: str
    target_user_role: UserRole | str


class AdminUserListParams(RequestOptions, total=False):
    """Keyword arguments of `admin.users.list` and `.auto_paging_iter`."""

    page: int | None
    size: int | None


class ChangeRoleParams(RequestOptions, total=False):
    """Keyword arguments of `admin.users.change_role`."""

    target_user_id: Required[str]
    target_user_role: Required[UserRole | str]
