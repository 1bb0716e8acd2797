"""Base classes of the Control Plane resources: `_fetch` with path arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from tensormesh._endpoints import Endpoint
from tensormesh._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncControlPlaneResource", "ControlPlaneResource"]

R = TypeVar("R")


class ControlPlaneResource(SyncAPIResource):
    """Base of sync Control Plane resources."""

    def _fetch_at(
        self, endpoint: Endpoint[R, None], params: Mapping[str, Any], **path_args: str
    ) -> R:
        """Call a route that never streams, with `{name}` placeholders in its path filled in."""
        return cast(R, self._call(endpoint, params, path_args=path_args))


class AsyncControlPlaneResource(AsyncAPIResource):
    """Base of async Control Plane resources."""

    async def _fetch_at(
        self, endpoint: Endpoint[R, None], params: Mapping[str, Any], **path_args: str
    ) -> R:
        """Call a route that never streams, with `{name}` placeholders in its path filled in."""
        return cast(R, await self._call(endpoint, params, path_args=path_args))
