"""`control_plane.admin`: routes for USER_ROLE_ADMIN and USER_ROLE_SUPER_ADMIN only (others get
403). Resource modules are imported on first use."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from tensormesh.resources.control_plane._base import (
    AsyncControlPlaneResource,
    ControlPlaneResource,
)

if TYPE_CHECKING:
    from .billing import AdminBilling, AsyncAdminBilling
    from .products import AdminProducts, AsyncAdminProducts
    from .users import AdminUsers, AsyncAdminUsers

__all__ = ["Admin", "AsyncAdmin"]


class Admin(ControlPlaneResource):
    """Administration of the control plane."""

    @cached_property
    def billing(self) -> AdminBilling:
        """Billing: `balances`, `spending`, `pricing.serverless`."""
        from .billing import AdminBilling

        return AdminBilling(self._transport)

    @cached_property
    def users(self) -> AdminUsers:
        """Users: `list()`, `auto_paging_iter()`, `change_role()`."""
        from .users import AdminUsers

        return AdminUsers(self._transport)

    @cached_property
    def products(self) -> AdminProducts:
        """Products: `list()`, `upsert()`, `delete()`."""
        from .products import AdminProducts

        return AdminProducts(self._transport)


class AsyncAdmin(AsyncControlPlaneResource):
    """Administration of the control plane (async): the same names as `Admin`."""

    @cached_property
    def billing(self) -> AsyncAdminBilling:
        """Billing: `balances`, `spending`, `pricing.serverless`."""
        from .billing import AsyncAdminBilling

        return AsyncAdminBilling(self._transport)

    @cached_property
    def users(self) -> AsyncAdminUsers:
        """Users: `list()`, `auto_paging_iter()`, `change_role()`."""
        from .users import AsyncAdminUsers

        return AsyncAdminUsers(self._transport)

    @cached_property
    def products(self) -> AsyncAdminProducts:
        """Products: `list()`, `upsert()`, `delete()`."""
        from .products import AsyncAdminProducts

        return AsyncAdminProducts(self._transport)
