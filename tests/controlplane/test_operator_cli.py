"""`tm server users|api-keys|db` in process on both backends: they work on the database directly,
read passwords from stdin, print the key once, and fail with one line."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from tensormesh_cli.main import cli
from tensormesh_server.security.passwords import verify_password
from tensormesh_server.store.database import Database
from tensormesh_server.store.migrate import head_revision
from tensormesh_server.store.models import ApiKey, User

from .helpers import activity_count

Tm = Callable[..., Result]


@pytest.fixture
def tm(db: Database, monkeypatch: pytest.MonkeyPatch) -> Tm:
    monkeypatch.setenv("TENSORMESH_DATABASE_URL", db.url)

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input)

    return run


def test_users_create_list_and_set_password(tm: Tm, db: Database) -> None:
    created = tm("server", "users", "create", "Eve@Example.com", "--role", "admin", "--name", "Eve")
    assert created.exit_code == 0, created.output
    assert "tm server users set-password eve@example.com" in created.stderr
    again = tm("server", "users", "create", "eve@example.com")
    assert again.exit_code == 1
    assert again.stderr.strip() == "error: a user with email eve@example.com already exists"

    listed = tm("--output", "json", "server", "users", "list")
    assert listed.exit_code == 0, listed.output
    (user,) = json.loads(listed.stdout)["users"]
    assert user["userEmail"] == "eve@example.com"
    assert user["userRole"] == "USER_ROLE_ADMIN"
    table = tm("server", "users", "list")
    assert "eve@example.com" in table.stdout
    assert "not set" in table.stdout

    no_tty = tm("server", "users", "set-password", "eve@example.com", input="")
    assert no_tty.exit_code == 2
    assert "--password-stdin" in no_tty.stderr
    done = tm(
        "server",
        "users",
        "set-password",
        "eve@example.com",
        "--password-stdin",
        input="a long password\n",
    )
    assert done.exit_code == 0, done.output
    with db.session() as session:
        stored = session.scalar(select(User).where(User.email == "eve@example.com"))
        assert stored is not None
        assert verify_password(stored.password_hash, "a long password")
    assert "a long password" not in done.output
    unknown = tm(
        "server", "users", "set-password", "x@y.z", "--password-stdin", input="longpassword\n"
    )
    assert unknown.exit_code == 1
    assert "no user with email x@y.z" in unknown.stderr


def test_api_keys_create_prints_the_key_once(tm: Tm, db: Database) -> None:
    assert tm("server", "users", "create", "kim@example.com").exit_code == 0
    made = tm(
        "server",
        "api-keys",
        "create",
        "--user",
        "kim@example.com",
        "--name",
        "ci",
        "--expires-in",
        "7",
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("tm_sk_")
    assert secret not in made.stderr
    assert "expires" in made.stderr
    with db.session() as session:
        (key,) = session.scalars(select(ApiKey))
        assert key.name == "ci"
        assert key.prefix == secret[:12]
        assert key.expires_at is not None
    assert activity_count(db, "api_key.create") == 1
    missing = tm("server", "api-keys", "create", "--user", "nobody@example.com")
    assert missing.exit_code == 1
    assert "no user with email" in missing.stderr


def test_db_upgrade_reports_the_revision(tm: Tm) -> None:
    result = tm("server", "db", "upgrade")
    assert result.exit_code == 0
    assert f"is up to date (revision {head_revision()})" in result.stderr


def test_help_lists_the_operator_commands(tm: Tm) -> None:
    result = tm("server", "--help")
    for command in ("up", "users", "api-keys", "db"):
        assert command in result.stdout
