"""`tm server up` with its Control Plane and database keys, as real processes on SQLite and
PostgreSQL: the first admin, operator commands, the browser login over HTTP, keys that open
the serverless surface and stop within 2 s after deletion, credentials mixed up, no secret in
the server log, an activity row for each change."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from tensormesh_server.store.database import Database
from tensormesh_server.store.models import Activity
from tensormesh_server.testing.fake_upstream import running_fake_upstream
from tests.support.servers import RunningServer, running_server

from .helpers import PASSWORD, csrf_of

pytestmark = pytest.mark.slow

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


@pytest.fixture
def upstream() -> Iterator[str]:
    with running_fake_upstream() as (url, _app):
        yield url


@pytest.fixture
def server_env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of the server and of the operator commands (one database)."""
    env = {"TM_DATA_HOME": str(tmp_path / "data"), "TENSORMESH_ADMIN_EMAIL": "root@example.com"}
    env["TENSORMESH_BILLING_ENFORCE"] = "0"  # new users have no credit; billing is tested apart
    if not fresh_database_url.startswith("sqlite"):
        env["TENSORMESH_DATABASE_URL"] = fresh_database_url
    return env


def tm(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tensormesh_cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def browser_login(cp_url: str, email: str, password: str) -> dict[str, str]:
    with httpx2.Client(base_url=cp_url, timeout=10) as browser:
        start = browser.post("/auth/cli/start").json()
        assert start["auth_url"].startswith(cp_url)
        code = start["cli_code"]
        assert browser.post("/auth/cli/exchange", json={"cli_code": code}).status_code == 202
        page = browser.get(start["auth_url"])
        signed = browser.post(
            "/auth/cli/authorize",
            data={
                "csrf_token": csrf_of(page.text),
                "code": code,
                "action": "sign-in",
                "email": email,
                "password": password,
            },
        )
        assert signed.status_code == 303, signed.text
        page = browser.get(start["auth_url"])
        approve = {"csrf_token": csrf_of(page.text), "code": code, "action": "approve"}
        assert browser.post("/auth/cli/authorize", data=approve).status_code == 200
        tokens = browser.post("/auth/cli/exchange", json={"cli_code": code})
        assert tokens.status_code == 200, tokens.text
        data: dict[str, str] = tokens.json()
        return data


def chat_status(server: RunningServer, key: str) -> int:
    reply = httpx2.post(
        server.serverless_url + "/v1/chat/completions",
        json=CHAT,
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )
    return reply.status_code


def test_operator_login_keys_and_revocation(
    tmp_path: Path, upstream: str, server_env: dict[str, str], fresh_database_url: str
) -> None:
    args = ("--no-embedded", "--upstream", f"m={upstream}")
    with running_server(tmp_path, args=args, env=server_env) as server:
        assert "tm server users set-password root@example.com" in server.log()
        assert httpx2.get(server.controlplane_url + "/openapi.json").status_code == 200

        created = tm(
            server_env,
            "server",
            "users",
            "create",
            "alice@example.com",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert created.returncode == 0, created.stderr
        listed = tm(server_env, "server", "users", "list")
        assert "alice@example.com" in listed.stdout
        assert "root@example.com" in listed.stdout

        tokens = browser_login(server.controlplane_url, "alice@example.com", PASSWORD)
        cp = {"authorization": f"Bearer {tokens['access_token']}"}
        made = httpx2.post(
            server.controlplane_url + "/v1/users/api-keys", headers=cp, json={"name": "e2e"}
        )
        assert made.status_code == 200
        key = made.json()["apiKey"]["key"]
        assert chat_status(server, key) == 200

        # Credentials mixed up: each surface names the one it wants.
        wrong = httpx2.post(server.serverless_url + "/v1/chat/completions", json=CHAT, headers=cp)
        assert wrong.status_code == 401
        assert "control-plane access token" in wrong.text
        on_cp = httpx2.get(
            server.controlplane_url + "/auth/profile", headers={"authorization": f"Bearer {key}"}
        )
        assert on_cp.status_code == 401
        assert "control-plane access token" in on_cp.json()["message"]
        assert "tm auth login" in on_cp.json()["message"]

        gone = httpx2.delete(
            server.controlplane_url + "/v1/users/api-keys", headers=cp, params={"apiKey": key}
        )
        assert gone.status_code == 200
        deleted_at = time.monotonic()
        while chat_status(server, key) == 200:
            assert time.monotonic() - deleted_at < 2.0
            time.sleep(0.02)
        assert chat_status(server, key) == 401

        operator_key = tm(
            server_env,
            "server",
            "api-keys",
            "create",
            "--user",
            "alice@example.com",
            "--name",
            "ops",
        )
        assert operator_key.returncode == 0, operator_key.stderr
        secret = operator_key.stdout.strip()
        assert re.fullmatch(r"tm_sk_\S+", secret)
        assert chat_status(server, secret) == 200
        listing = httpx2.get(server.controlplane_url + "/v1/users/api-keys", headers=cp)
        assert secret not in listing.text
        assert key not in listing.text

        refreshed = httpx2.post(
            server.controlplane_url + "/auth/cli/refresh",
            json={"refresh_token": tokens["refresh_token"]},
        )
        assert refreshed.status_code == 200
        assert server.stop() == 0
        log = server.log()
    for secret_value in (
        key,
        secret,
        PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
        refreshed.json()["access_token"],
    ):
        assert secret_value not in log
    assert "Traceback" not in log
    db = Database(
        fresh_database_url
        if "TENSORMESH_DATABASE_URL" in server_env
        else f"sqlite:///{tmp_path / 'data' / 'tensormesh.db'}"
    )
    try:
        with db.session() as session:
            actions = list(session.scalars(select(Activity.action)))
    finally:
        db.dispose()
    for action in (
        "user.create",
        "auth.sign_in",
        "auth.cli_login_approve",
        "auth.cli_login",
        "api_key.create",
        "api_key.delete",
        "auth.token_refresh",
    ):
        assert action in actions, actions


def test_controlplane_role_alone(tmp_path: Path, server_env: dict[str, str]) -> None:
    from tests.support.servers import free_port

    port = free_port()
    log_path = tmp_path / "cp.log"
    command = [
        sys.executable,
        "-m",
        "tensormesh_cli",
        "server",
        "up",
        "--role",
        "controlplane",
        "--controlplane-port",
        str(port),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **server_env}
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/version", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        start = httpx2.post(f"http://127.0.0.1:{port}/auth/cli/start")
        assert start.status_code == 200
        assert start.json()["cli_code"]
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
    log_text = log_path.read_text()
    assert "control plane listening on" in log_text
    assert "serverless inference API listening" not in log_text


def test_without_static_keys_only_database_keys_open_the_gateway(
    tmp_path: Path, upstream: str, server_env: dict[str, str]
) -> None:
    env = {**server_env, "TENSORMESH_SERVER_API_KEYS": ""}
    created = tm(env, "server", "users", "create", "bob@example.com")
    assert created.returncode == 0, created.stderr
    assert "set-password bob@example.com" in created.stderr
    made = tm(env, "server", "api-keys", "create", "--user", "bob@example.com", "--expires-in", "1")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    args = ("--no-embedded", "--upstream", f"m={upstream}")
    with running_server(tmp_path, args=args, env=env, api_key="") as server:
        assert chat_status(server, key) == 200
        assert chat_status(server, "tm-test-key-0123456789") == 401
        missing = httpx2.post(server.serverless_url + "/v1/chat/completions", json=CHAT)
        assert missing.status_code == 401
        assert "inference API key" in missing.json()["error"]["message"]
        log = server.log()
    assert "tm_sk_" not in log  # no key generated or printed
    assert "first admin" not in log  # the database already had a user
    assert "static inference key" not in log


@pytest.mark.parametrize(
    ("env", "code", "message"),
    [
        (
            {"TENSORMESH_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"},
            1,
            "error: cannot migrate the database at postgresql+psycopg://nobody@127.0.0.1:1/x",
        ),
        ({"TENSORMESH_DATABASE_URL": "nonsense://"}, 1, "error: invalid database URL"),
        ({"TENSORMESH_ACCESS_TOKEN_SECONDS": "soon"}, 2, "TENSORMESH_ACCESS_TOKEN_SECONDS"),
    ],
)
def test_bad_database_settings_are_one_line(
    tmp_path: Path, env: dict[str, str], code: int, message: str
) -> None:
    from tests.support.servers import free_port

    result = tm(
        {"TM_DATA_HOME": str(tmp_path), **env},
        "server",
        "up",
        "--no-embedded",
        "--serverless-port",
        str(free_port()),
        "--controlplane-port",
        str(free_port()),
    )
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
