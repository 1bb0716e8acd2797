"""`client.control_plane`: the Control Plane API.

`users` (profile, updates, terms of service, `users.api_keys`), `auth.cli` (the browser login
of command-line tools), and `request(method, path, ...)` for any other route, all with the
control-plane token and base URL. Resource modules are imported on first use.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from tensormesh._endpoints import CONTROL_PLANE
from tensormesh.resources._namespace import AsyncSurfaceNamespace, SyncSurfaceNamespace

if TYPE_CHECKING:
    from .activities import Activities, AsyncActivities
    from .admin import Admin, AsyncAdmin
    from .auth import AsyncAuth, Auth
    from .billing import AsyncBilling, Billing
    from .models import AsyncModels, Models
    from .observability import AsyncObservability, Observability
    from .products import AsyncProducts, Products
    from .support import AsyncSupport, Support
    from .users import AsyncUsers, Users

__all__ = ["AsyncControlPlane", "ControlPlane"]


class ControlPlane(SyncSurfaceNamespace):
    """The Control Plane API (protobuf-JSON errors map to the same exception classes)."""

    _surface = CONTROL_PLANE

    @cached_property
    def users(self) -> Users:
        """Users: `get_auth_profile()`, `get()`, `update()`, `accept_tos()`, `api_keys`."""
        from .users import Users

        return Users(self._transport)

    @cached_property
    def auth(self) -> Auth:
        """Authentication: `auth.cli.start()`, `.exchange()`, `.refresh()`."""
        from .auth import Auth

        return Auth(self._transport)

    @cached_property
    def models(self) -> Models:
        """Deployed models: `list()`, `get()`, `deploy()`, `delete()`, `validate_name()`."""
        from .models import Models

        return Models(self._transport)

    @cached_property
    def support(self) -> Support:
        """Support: `tickets`, `reserved_deployments`."""
        from .support import Support

        return Support(self._transport)

    @cached_property
    def activities(self) -> Activities:
        """The audit trail: `list()`, `get()`, `auto_paging_iter()`."""
        from .activities import Activities

        return Activities(self._transport)

    @cached_property
    def observability(self) -> Observability:
        """Metrics and logs: `users.metrics`, `deployments.logs`, `deployments.metrics`."""
        from .observability import Observability

        return Observability(self._transport)

    @cached_property
    def products(self) -> Products:
        """Products: `list()`."""
        from .products import Products

        return Products(self._transport)

    @cached_property
    def billing(self) -> Billing:
        """Billing: `balance`, `transactions`, `spending`, `pricing.serverless`, `address`."""
        from .billing import Billing

        return Billing(self._transport)

    @cached_property
    def admin(self) -> Admin:
        """Administration (admins only): `admin.billing`, ..."""
        from .admin import Admin

        return Admin(self._transport)


class AsyncControlPlane(AsyncSurfaceNamespace):
    """The Control Plane API (async): the same names as `ControlPlane`; methods are coroutines."""

    _surface = CONTROL_PLANE

    @cached_property
    def users(self) -> AsyncUsers:
        """Users: `get_auth_profile()`, `get()`, `update()`, `accept_tos()`, `api_keys`."""
        from .users import AsyncUsers

        return AsyncUsers(self._transport)

    @cached_property
    def auth(self) -> AsyncAuth:
        """Authentication: `auth.cli.start()`, `.exchange()`, `.refresh()`."""
        from .auth import AsyncAuth

        return AsyncAuth(self._transport)

    @cached_property
    def models(self) -> AsyncModels:
        """Deployed models: `list()`, `get()`, `deploy()`, `delete()`, `validate_name()`."""
        from .models import AsyncModels

        return AsyncModels(self._transport)

    @cached_property
    def support(self) -> AsyncSupport:
        """Support: `tickets`, `reserved_deployments`."""
        from .support import AsyncSupport

        return AsyncSupport(self._transport)

    @cached_property
    def activities(self) -> AsyncActivities:
        """The audit trail: `list()`, `get()`, `auto_paging_iter()`."""
        from .activities import AsyncActivities

        return AsyncActivities(self._transport)

    @cached_property
    def observability(self) -> AsyncObservability:
        """Metrics and logs: `users.metrics`, `deployments.logs`, `deployments.metrics`."""
        from .observability import AsyncObservability

        return AsyncObservability(self._transport)

    @cached_property
    def products(self) -> AsyncProducts:
        """Products: `list()`."""
        from .products import AsyncProducts

        return AsyncProducts(self._transport)

    @cached_property
    def billing(self) -> AsyncBilling:
        """Billing: `balance`, `transactions`, `spending`, `pricing.serverless`, `address`."""
        from .billing import AsyncBilling

        return AsyncBilling(self._transport)

    @cached_property
    def admin(self) -> AsyncAdmin:
        """Administration (admins only): `admin.billing`, ..."""
        from .admin import AsyncAdmin

        return AsyncAdmin(self._transport)
