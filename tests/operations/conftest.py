"""Fixtures of the operations tests: the control-plane fixtures (a migrated database per
backend, emptied per test; a fake clock; the app in process) and signed-in users."""

from __future__ import annotations

from dataclasses import dataclass

import httpx2
import pytest

from tensormesh.types.control_plane import UserRole
from tensormesh_server.store.database import Database
from tests.controlplane import conftest as controlplane
from tests.controlplane.helpers import FakeClock, access_token, bearer, make_user

# The control-plane fixtures, shared: one migrated database per backend and a fake clock.
postgres = controlplane.postgres
database_url = controlplane.database_url
db = controlplane.db
clock = controlplane.clock
config = controlplane.config
cp = controlplane.cp
client = controlplane.client


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
def owner(db: Database, clock: FakeClock) -> Person:
    """A plain user who owns the resources of a test."""
    return person(db, clock, "owner@example.com")


@pytest.fixture
def other(db: Database, clock: FakeClock) -> Person:
    """Another plain user."""
    return person(db, clock, "other@example.com")


@pytest.fixture
def admin(db: Database, clock: FakeClock) -> Person:
    """A super admin."""
    return person(db, clock, "root@example.com", UserRole.SUPER_ADMIN)


@pytest.fixture
def http(client: httpx2.AsyncClient) -> httpx2.AsyncClient:
    """The Control Plane app in process."""
    return client
