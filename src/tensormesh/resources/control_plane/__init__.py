"""`client.control_plane`: the Control Plane API. Resource namespaces (users, models, billing,
...) are added here as cached properties; until then `request(method, path, ...)` reaches any
route with the control-plane token and base URL."""

from __future__ import annotations

from tensormesh._endpoints import CONTROL_PLANE
from tensormesh.resources._namespace import AsyncSurfaceNamespace, SyncSurfaceNamespace

__all__ = ["AsyncControlPlane", "ControlPlane"]


class ControlPlane(SyncSurfaceNamespace):
    """The Control Plane API (protobuf-JSON errors map to the same exception classes)."""

    _surface = CONTROL_PLANE


class AsyncControlPlane(AsyncSurfaceNamespace):
    """The Control Plane API (async)."""

    _surface = CONTROL_PLANE
