"""The store: migrations on an empty database of each backend match the models, re-running
them is a no-op, times come back as UTC, constraints hold; the operator functions."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import StatementError

from tensormesh.types.control_plane import UserRole
from tensormesh_server.controlplane import operator
from tensormesh_server.controlplane.errors import CPError
from tensormesh_server.security.passwords import verify_password
from tensormesh_server.store.database import Database, DatabaseError, database_url, make_engine
from tensormesh_server.store.migrate import current_revision, head_revision, upgrade
from tensormesh_server.store.models import Activity, Base, User

from .helpers import activity_count


def test_migrations_create_the_schema_of_the_models(fresh_database_url: str) -> None:
    db = Database(fresh_database_url)
    try:
        assert current_revision(db.engine) is None
        assert upgrade(db.engine) == (None, head_revision())
        assert current_revision(db.engine) == head_revision()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "api_keys", "cli_logins", "activities", "alembic_version"} <= tables
        assert upgrade(db.engine) == (head_revision(), head_revision())  # idempotent
    finally:
        db.dispose()


def test_times_round_trip_as_utc(db: Database) -> None:
    eastern = datetime(2026, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=-4)))
    with db.session() as session:
        session.add(User(email="tz@example.com", created_at=eastern, updated_at=eastern))
    with db.session() as session:
        user = session.scalar(select(User).where(User.email == "tz@example.com"))
        assert user is not None
        assert user.created_at == eastern
        assert user.created_at.tzinfo == timezone.utc
    with pytest.raises(StatementError, match="naive"), db.session() as session:
        session.add(
            User(email="naive@example.com", created_at=eastern, updated_at=datetime(2026, 1, 1))
        )


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path: object) -> None:
    assert database_url({"TM_DATA_HOME": "/srv/tm"}) == "sqlite:////srv/tm/tensormesh.db"
    url = "postgresql+psycopg://u@h/db"
    assert database_url({"TENSORMESH_DATABASE_URL": url, "TM_DATA_HOME": "/x"}) == url
    with pytest.raises(DatabaseError):
        make_engine("not a url")


def test_unreachable_database_is_a_one_line_error() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseError) as error:
        upgrade(db.engine)
    assert "cannot migrate the database at postgresql+psycopg://nobody@127.0.0.1:1/none" in str(
        error.value
    )
    assert "\n" not in str(error.value)


def test_first_admin_is_created_once_without_password(db: Database) -> None:
    admin = operator.ensure_first_admin(db, "boss@example.com")
    assert admin is not None
    assert admin.role == UserRole.SUPER_ADMIN.value
    assert admin.password_hash is None
    assert operator.ensure_first_admin(db, "other@example.com") is None
    assert [u.email for u in operator.list_users(db)] == ["boss@example.com"]
    with db.session() as session:
        activity = session.scalar(select(Activity).where(Activity.action == "user.create"))
        assert activity is not None
        assert activity.actor_type == "ACTOR_TYPE_SYSTEM"


def test_operator_users_and_keys(db: Database) -> None:
    user = operator.create_user(db, "Op@Example.com", role="admin", display_name="Op")
    assert user.email == "op@example.com"
    assert user.role == UserRole.ADMIN.value
    with pytest.raises(CPError) as taken:
        operator.create_user(db, "op@example.com")
    assert taken.value.status == 409
    with pytest.raises(CPError):
        operator.create_user(db, "no-at-sign")
    with pytest.raises(CPError) as weak:
        operator.set_password(db, "op@example.com", "short")
    assert "at least 8" in weak.value.message
    operator.set_password(db, "op@example.com", "long enough password")
    with db.session() as session:
        stored = session.scalar(select(User).where(User.email == "op@example.com"))
        assert stored is not None
        assert stored.password_hash is not None
        assert stored.password_hash.startswith("$argon2id$")
        assert verify_password(stored.password_hash, "long enough password")
    key, secret = operator.create_api_key(db, "op@example.com", name="ci", expires_in_days=1)
    assert secret.startswith("tm_sk_")
    assert key.expires_at is not None
    with pytest.raises(CPError) as unknown:
        operator.create_api_key(db, "ghost@example.com")
    assert unknown.value.status == 404
    assert activity_count(db, "user.create") == 1
    assert activity_count(db, "user.set_password") == 1
    assert activity_count(db, "api_key.create") == 1


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_servers_starting_together_migrate_one_after_the_other(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    if backend == "postgresql":
        url = request.getfixturevalue("postgres").create()
    env = {**os.environ, "TENSORMESH_DATABASE_URL": url}
    command = [sys.executable, "-m", "tensormesh_cli", "server", "db", "upgrade"]
    processes = [
        subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    outputs = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], outputs
    assert sum("migrated from empty" in output for output in outputs) == 1
    assert sum("is up to date" in output for output in outputs) == 3
