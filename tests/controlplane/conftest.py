"""Fixtures of the control-plane tests: one migrated database per backend (SQLite file and a
fresh PostgreSQL database per test session), emptied before each test; a controllable clock;
the Control Plane app in process."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import delete

from tensormesh_server.controlplane.app import create_app
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.store.database import Database
from tensormesh_server.store.migrate import upgrade
from tensormesh_server.store.models import Base
from tests.support.postgres import POSTGRES_ADMIN_URL, Postgres, postgres_server

from .helpers import FakeClock

__all__ = [
    "BACKENDS",
    "POSTGRES_ADMIN_URL",
    "Postgres",
    "client",
    "clock",
    "config",
    "database_url",
    "db",
    "postgres",
]
"""What other folders use; the fixtures among it are shared with `from tests.controlplane.conftest
import *` (each folder brings its own `cp`, the Control Plane state, or imports this one)."""

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """The test PostgreSQL server (skips the PostgreSQL variants when it cannot be reached,
    unless TENSORMESH_TEST_POSTGRES_REQUIRED=1)."""
    with postgres_server() as server:
        yield server


def _new_url(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / f'tm-{secrets.token_hex(4)}.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    return server.create()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database shared by the tests of one backend."""
    url = _new_url(str(request.param), request, tmp_path_factory.mktemp("db"))
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, unmigrated database of each backend."""
    return _new_url(str(request.param), request, tmp_path)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The shared database of the backend, with every table emptied."""
    database = Database(database_url)
    with database.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand (wall time and monotonic time together)."""
    return FakeClock(datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
def config() -> ControlPlaneConfig:
    """The default Control Plane settings."""
    return ControlPlaneConfig()


@pytest.fixture
def cp(db: Database, clock: FakeClock, config: ControlPlaneConfig) -> ControlPlaneContext:
    """The Control Plane state over the test database and clock."""
    return ControlPlaneContext(db, config, clock.now, clock.monotonic)


@pytest.fixture
async def client(cp: ControlPlaneContext) -> AsyncIterator[httpx2.AsyncClient]:
    """An HTTP client talking to the Control Plane app in process."""
    transport = httpx2.ASGITransport(app=create_app(cp))
    async with httpx2.AsyncClient(transport=transport, base_url="http://cp.test") as http:
        yield http
