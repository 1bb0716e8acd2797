"""Fixtures of the billing tests: the control-plane fixtures (a migrated database per backend,
emptied per test; a fake clock; the app in process, serving two static models), signed-in
users, and usage records."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tensormesh.types.control_plane import UserRole
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.metering.record import UsageRecord
from tensormesh_server.store.database import Database
from tests.controlplane.conftest import *  # noqa: F403 (the control-plane fixtures, shared)
from tests.controlplane.helpers import FakeClock
from tests.support.people import signed_in

MODELS = ("alpha", "beta")
"""The models the in-process Control Plane knows as served."""


@pytest.fixture
def cp(db: Database, clock: FakeClock, config: ControlPlaneConfig) -> ControlPlaneContext:
    """The Control Plane state over the test database and clock, serving MODELS."""
    return ControlPlaneContext(db, config, clock.now, clock.monotonic, static_models=MODELS)


alice = signed_in("alice@example.com")
bob = signed_in("bob@example.com")
admin = signed_in("root@example.com", UserRole.ADMIN)


def usage(
    user_id: str | None,
    model: str,
    prompt: int,
    completion: int,
    cached: int = 0,
    *,
    at: datetime,
    request_id: str = "req",
) -> UsageRecord:
    """A finished request's record."""
    return UsageRecord(
        request_id=request_id,
        key_id="key",
        user_id=user_id,
        model=model,
        endpoint="chat/completions",
        status_code=200,
        started_at=at - timedelta(milliseconds=50),
        finished_at=at,
        latency_ms=50,
        ttft_ms=10,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
    )
