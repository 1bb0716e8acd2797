"""Fixtures of the control-plane tests: one migrated database per backend (SQLite file and a
fresh PostgreSQL database per test session), emptied before each test; a controllable clock;
the Control Plane app in process."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url

from tensormesh_server.controlplane.app import create_app
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.store.database import Database
from tensormesh_server.store.migrate import upgrade
from tensormesh_server.store.models import Base

from .helpers import FakeClock

POSTGRES_ADMIN_URL = os.environ.get(
    "TENSORMESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


class Postgres:
    """Creates and drops throwaway databases on the test PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []
        self._admin = Database(admin_url)
        self._admin.engine = self._admin.engine.execution_options(isolation_level="AUTOCOMMIT")

    def available(self) -> str | None:
        """None when the server answers, else why not."""
        try:
            with self._admin.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            return f"PostgreSQL at {make_url(self.admin_url).render_as_string()} unavailable: {exc}"
        return None

    def create(self) -> str:
        """A new empty database; returns its URL."""
        name = f"tm_test_{secrets.token_hex(6)}"
        with self._admin.engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self._admin.engine.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """The test PostgreSQL server (skips the PostgreSQL variants when it cannot be reached,
    unless TENSORMESH_TEST_POSTGRES_REQUIRED=1)."""
    server = Postgres(POSTGRES_ADMIN_URL)
    problem = server.available()
    if problem is not None:
        if os.environ.get("TENSORMESH_TEST_POSTGRES_REQUIRED") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    try:
        yield server
    finally:
        server.drop_all()


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
