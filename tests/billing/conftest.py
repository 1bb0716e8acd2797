"""Fixtures of the billing tests: the control-plane fixtures (a migrated database per backend,
emptied per test; a fake clock; the app in process, serving two static models), signed-in
users, and usage records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tensormesh.types.control_plane import UserRole
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.metering.record import UsageRecord
from tensormesh_server.store.database import Database
from tests.controlplane import conftest as controlplane
from tests.controlplane.helpers import FakeClock, access_token, bearer, make_user

postgres = controlplane.postgres
database_url = controlplane.database_url
db = controlplane.db
clock = controlplane.clock
config = controlplane.config
client = controlplane.client

MODELS = ("alpha", "beta")
"""The models the in-process Control Plane knows as served."""


@pytest.fixture
def cp(db: Database, clock: FakeClock, config: ControlPlaneConfig) -> ControlPlaneContext:
    """The Control Plane state over the test database and clock, serving MODELS."""
    return ControlPlaneContext(db, config, clock.now, clock.monotonic, static_models=MODELS)


@dataclass(frozen=True)
class Person:
    """A user and the headers of their access token."""

    id: str
    email: str
    headers: dict[str, str]


def person(db: Database, clock: FakeClock, email: str, role: UserRole = UserRole.USER) -> Person:
    """A new user with an access token."""
    user = make_user(db, email, role=role, password=None, now=clock.now())
    return Person(user.id, user.email, bearer(access_token(db, user, clock.now())))


@pytest.fixture
def alice(db: Database, clock: FakeClock) -> Person:
    return person(db, clock, "alice@example.com")


@pytest.fixture
def bob(db: Database, clock: FakeClock) -> Person:
    return person(db, clock, "bob@example.com")


@pytest.fixture
def admin(db: Database, clock: FakeClock) -> Person:
    return person(db, clock, "root@example.com", UserRole.ADMIN)


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
