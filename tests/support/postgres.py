"""Throwaway databases on the test PostgreSQL server (TENSORMESH_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tensormesh_server.store.database import Database

POSTGRES_ADMIN_URL = os.environ.get(
    "TENSORMESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


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


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """The test PostgreSQL server, its databases dropped afterwards (for a fixture: skips when
    it cannot be reached, unless TENSORMESH_TEST_POSTGRES_REQUIRED=1, then fails)."""
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
