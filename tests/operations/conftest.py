"""Fixtures of the operations tests: the control-plane fixtures (a migrated database per
backend, emptied per test; a fake clock; the app in process) and signed-in users."""

from __future__ import annotations

import httpx2
import pytest

from tensormesh.types.control_plane import UserRole
from tests.controlplane.conftest import *  # noqa: F403 (the control-plane fixtures, shared)
from tests.controlplane.conftest import cp as cp
from tests.support.people import signed_in

owner = signed_in("owner@example.com", doc="A plain user who owns the resources of a test.")
other = signed_in("other@example.com", doc="Another plain user.")
admin = signed_in("root@example.com", UserRole.SUPER_ADMIN, doc="A super admin.")


@pytest.fixture
def http(client: httpx2.AsyncClient) -> httpx2.AsyncClient:
    """The Control Plane app in process."""
    return client
