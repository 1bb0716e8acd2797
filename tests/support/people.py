"""Signed-in users of the in-process Control Plane tests (tests/billing, tests/operations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tensormesh.types.control_plane import UserRole
from tensormesh_server.store.database import Database
from tests.controlplane.helpers import FakeClock, access_token, bearer, make_user


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


def signed_in(email: str, role: UserRole = UserRole.USER, doc: str | None = None) -> Any:
    """A fixture (named after the conftest attribute it is bound to) giving a new user `email`
    with `role` and an access token, over the `db` and `clock` fixtures."""

    def fixture(db: Database, clock: FakeClock) -> Person:
        return person(db, clock, email, role)

    fixture.__doc__ = doc
    return pytest.fixture(fixture)
