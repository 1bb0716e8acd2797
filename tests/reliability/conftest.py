"""A real `tm server up` (fake upstream, SQLite) with an admin, two users, their tokens and keys,
and expired/revoked credentials, shared by the fuzzing and security-matrix tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from tensormesh.types.control_plane import UserRole
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.services import tokens
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import User
from tensormesh_server.testing.fake_upstream import running_fake_upstream
from tests.controlplane.conftest import BACKENDS
from tests.controlplane.helpers import make_user
from tests.support.postgres import Postgres, postgres_server
from tests.support.servers import RunningServer, running_server

from . import figures

MODEL = "m"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the reliability figures after the run."""
    if figures.FIGURES or figures.DETAILS:
        terminalreporter.section("reliability figures")
        for line in figures.lines() + figures.DETAILS:
            terminalreporter.write_line(line)


ADMIN_EMAIL = "root@example.com"


@dataclass(frozen=True)
class Stack:
    """The running server and the credentials of the tests."""

    server: RunningServer
    backend: str
    admin_token: str
    admin_id: str
    user_token: str
    user_id: str
    user_key: str
    other_token: str
    other_id: str
    expired_token: str
    revoked_token: str
    revoked_key: str


def _token(db: Database, user: User, now: datetime, *, revoke: bool = False) -> str:
    family = tokens.new_family()
    with db.session() as session:
        issued = tokens.issue(session, user, now=now, config=ControlPlaneConfig(), family_id=family)
    if revoke:
        with db.session() as session:
            tokens.revoke_family(session, family, now)
    return issued.access_token


def _new_key(server: RunningServer, token: str) -> str:
    made = httpx2.post(
        server.controlplane_url + "/v1/users/api-keys",
        headers={"authorization": f"Bearer {token}"},
        json={"name": "reliability"},
        timeout=10,
    )
    assert made.status_code == 200, made.text
    return str(made.json()["apiKey"]["key"])


@pytest.fixture(scope="package")
def postgres() -> Iterator[Postgres]:
    """The test PostgreSQL server (skipped when unreachable, as in tests/controlplane)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="package", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The server on SQLite, then on PostgreSQL."""
    tmp_path: Path = tmp_path_factory.mktemp("reliability")
    env = {"TENSORMESH_ADMIN_EMAIL": ADMIN_EMAIL, "TENSORMESH_BILLING_ENFORCE": "0"}
    url = f"sqlite:///{tmp_path / 'data' / 'tensormesh.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create()
        env["TENSORMESH_DATABASE_URL"] = url
    with (
        running_fake_upstream() as (upstream, _app),
        running_server(
            tmp_path, args=("--no-embedded", "--upstream", f"{MODEL}={upstream}"), env=env
        ) as server,
    ):
        db = Database(url)
        try:
            now = datetime.now(timezone.utc)
            with db.session() as session:
                admin = session.scalars(select(User).where(User.email == ADMIN_EMAIL)).one()
            user = make_user(db, "user@example.com", role=UserRole.USER, now=now)
            other = make_user(db, "other@example.com", role=UserRole.USER, now=now)
            user_token = _token(db, user, now)
            revoked_key = _new_key(server, user_token)
            gone = httpx2.delete(
                server.controlplane_url + "/v1/users/api-keys",
                headers={"authorization": f"Bearer {user_token}"},
                params={"apiKey": revoked_key},
                timeout=10,
            )
            assert gone.status_code == 200, gone.text
            yield Stack(
                server=server,
                backend=str(request.param),
                admin_token=_token(db, admin, now),
                admin_id=str(admin.id),
                user_token=user_token,
                user_id=str(user.id),
                user_key=_new_key(server, user_token),
                other_token=_token(db, other, now),
                other_id=str(other.id),
                expired_token=_token(db, user, now - timedelta(days=30)),
                revoked_token=_token(db, user, now, revoke=True),
                revoked_key=revoked_key,
            )
        finally:
            db.dispose()
