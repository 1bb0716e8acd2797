"""End to end against the real platform (`tm server up`): the browser login in Debian's
Chromium driven by Playwright, then `tm auth`, `tm users` and `tm doctor` as subprocesses, and
the keys they create used on the serverless surface through the SDK."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

import tensormesh
from tensormesh import Tensormesh
from tests.conftest import EMBEDDED_MODEL
from tests.support.browser import chromium
from tests.support.servers import RunningServer, running_server

from .conftest import postgres_database

pytestmark = pytest.mark.slow

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
REPO = Path(__file__).resolve().parents[2]
README_SCREENSHOT = REPO / "docs" / "images" / "login-approve.png"
URL_PATTERN = re.compile(r"https?://\S+/auth/cli/authorize\?code=\S+")
CODE_PATTERN = re.compile(r"shows the code\s+([A-Z0-9]{4}-[A-Z0-9]{4})")


@dataclass
class Platform:
    server: RunningServer
    env: dict[str, str]  # where the database is (TM_DATA_HOME, TENSORMESH_DATABASE_URL)
    backend: str

    def operator(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """`tm server ...` on the platform's database (no server involved)."""
        return subprocess.run(
            [sys.executable, "-m", "tensormesh_cli", "server", *args],
            input=input,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            timeout=120,
            check=False,
        )


def _clean_env(config_home: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TENSORMESH_", "TM_")) and name != "NO_COLOR"
    }
    return {**env, "TM_CONFIG_HOME": str(config_home), **extra}


@dataclass
class User:
    """A `tm` user: a config directory pointed at the platform."""

    platform: Platform
    home: Path

    def command(self, *args: str) -> list[str]:
        server = self.platform.server
        return [
            sys.executable,
            "-m",
            "tensormesh_cli",
            "--controlplane-base",
            server.controlplane_url,
            "--serverless-base",
            server.serverless_url,
            *args,
        ]

    def tm(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            env=_clean_env(self.home, **env),
            timeout=120,
            check=False,
        )

    @property
    def auth_file(self) -> Path:
        return self.home / "auth.json"

    def saved_login(self) -> dict[str, Any]:
        logins = json.loads(self.auth_file.read_text())["logins"]
        return dict(logins[self.platform.server.controlplane_url])


def _wait_for_control_plane(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx2.get(url + "/openapi.json", timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the control plane at {url} did not come up")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The platform with both surfaces on each database, and a user who has a password."""
    tmp = tmp_path_factory.mktemp(f"cp-e2e-{request.param}")
    with ExitStack() as stack:
        env = {"TM_DATA_HOME": str(tmp / "data")}
        if request.param == "postgresql":
            env["TENSORMESH_DATABASE_URL"] = stack.enter_context(postgres_database())
        server = stack.enter_context(running_server(tmp, env=env))
        _wait_for_control_plane(server.controlplane_url)
        running = Platform(server, env, str(request.param))
        created = running.operator("users", "create", EMAIL, "--password-stdin", input=PASSWORD)
        assert created.returncode == 0, created.stderr
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def _read_prompt(process: subprocess.Popen[str]) -> tuple[str, str, str]:
    """(auth_url, code, what was read) from `tm auth login`'s stderr."""
    assert process.stderr is not None
    seen = ""
    while True:
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"tm auth login ended before showing a code:\n{seen}")
        seen += line
        url, code = URL_PATTERN.search(seen), CODE_PATTERN.search(seen)
        if url and code:
            return url.group(0), code.group(1), seen


def browser_login(
    user: User,
    browser: Any,
    *,
    decision: str = "approve",
    shots: Path | None = None,
    readme_shot: bool = False,
) -> tuple[int, str, str]:
    """Run `tm auth login --no-open-browser`, sign in and decide in the browser;
    return (exit code, stdout, stderr) of `tm`."""
    process = subprocess.Popen(
        user.command("auth", "login", "--no-open-browser", "--max-wait-seconds", "60"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(user.home),
    )
    try:
        url, code, prompt = _read_prompt(process)
        page = browser.new_page(viewport={"width": 760, "height": 560})
        try:
            page.goto(url)
            assert page.inner_text("#cli-code").strip() == code
            if shots:
                page.screenshot(path=str(shots.with_name(shots.name + "-1-sign-in.png")))
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_selector(f"#{decision}")
            assert page.inner_text("#cli-code").strip() == code
            if shots:
                page.screenshot(path=str(shots.with_name(shots.name + "-2-decide.png")))
            if readme_shot:  # the README's picture (written when missing, or when asked)
                README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(README_SCREENSHOT))
            page.click(f"#{decision}")
            page.wait_for_selector("#message")
            if shots:
                page.screenshot(path=str(shots.with_name(shots.name + "-3-done.png")))
        finally:
            page.close()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stdout, prompt + stderr


@pytest.fixture(scope="module")
def logged_in(platform: Platform, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> User:
    user = User(platform, tmp_path_factory.mktemp("logged-in") / "config")
    code, _, stderr = browser_login(user, browser)
    assert code == 0, stderr
    return user


def test_browser_login_then_whoami(
    platform: Platform, browser: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    user = User(platform, tmp_path / "config")
    shots = artifacts_dir / f"tm-auth-login-approve-{platform.backend}"
    readme_shot = platform.backend == "sqlite" and (
        not README_SCREENSHOT.exists() or os.environ.get("TM_UPDATE_DOCS_IMAGES") == "1"
    )
    code, _, stderr = browser_login(user, browser, shots=shots, readme_shot=readme_shot)
    assert code == 0, stderr
    assert f"Logged in to {platform.server.controlplane_url} as {EMAIL}" in stderr
    assert stat.S_IMODE(user.auth_file.stat().st_mode) == 0o600
    saved = user.saved_login()
    assert saved["access_token"].startswith("tmcp_")
    assert saved["refresh_token"].startswith("tmrt_")
    whoami = user.tm("auth", "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert f"email: {EMAIL}" in whoami.stdout
    status = user.tm("auth", "status", "--exit-status")
    assert status.returncode == 0, status.stdout
    assert f"as {EMAIL}" in status.stdout
    for secret in (saved["access_token"], saved["refresh_token"]):
        assert secret not in whoami.stdout + status.stdout + stderr + platform.server.log()
    if readme_shot:
        assert README_SCREENSHOT.stat().st_size > 10_000


def test_browser_login_denied(
    platform: Platform, browser: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    user = User(platform, tmp_path / "config")
    code, _, stderr = browser_login(
        user,
        browser,
        decision="deny",
        shots=artifacts_dir / f"tm-auth-login-deny-{platform.backend}",
    )
    assert code == 4
    assert "the login was denied in the browser" in stderr
    assert "Traceback" not in stderr
    assert not user.auth_file.exists()
    assert user.tm("auth", "status", "--exit-status").returncode == 4


def _key_is_accepted(platform: Platform, key: str) -> bool:
    with Tensormesh(
        inference_api_key=key, serverless_base_url=platform.server.serverless_url, env={}
    ) as client:
        try:
            client.inference.serverless.tokenize.create(model=EMBEDDED_MODEL, prompt="hi")
        except tensormesh.AuthenticationError:
            return False
    return True


def _seconds_until_refused(platform: Platform, key: str, limit: float = 5.0) -> float:
    start = time.monotonic()
    while _key_is_accepted(platform, key):
        assert time.monotonic() - start < limit, "the deleted key still works"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.parametrize("delete_by", ["id", "key"])
def test_api_key_create_use_list_delete(
    platform: Platform, logged_in: User, delete_by: str
) -> None:
    created = logged_in.tm("--output", "json", "users", "api-keys", "create", "--name", "e2e")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    secret, key_id = key["key"], key["id"]
    assert secret.startswith("tm_sk_")
    assert "only time" in created.stderr
    assert _key_is_accepted(platform, secret)

    listed = logged_in.tm("--output", "json", "users", "api-keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert key_id in [item["id"] for item in json.loads(listed.stdout)]
    assert secret not in listed.stdout
    table = logged_in.tm("users", "api-keys", "list")
    assert key_id in table.stdout
    assert secret not in table.stdout

    deleted = logged_in.tm("users", "api-keys", "delete", key_id if delete_by == "id" else secret)
    assert deleted.returncode == 0, deleted.stderr
    assert secret not in deleted.stderr + deleted.stdout
    assert _seconds_until_refused(platform, secret) < 2.0


def test_create_save_makes_doctor_ready_on_both_surfaces(
    platform: Platform, logged_in: User
) -> None:
    created = logged_in.tm("users", "api-keys", "create", "--name", "saved", "--save")
    assert created.returncode == 0, created.stderr
    config = logged_in.home / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert f'gateway_api_key = "{created.stdout.strip()}"' in config.read_text()
    doctor = logged_in.tm("--output", "json", "doctor", "--exit-status")
    assert doctor.returncode == 0, doctor.stdout
    report = json.loads(doctor.stdout)
    assert report["ready"] is True
    statuses = {row["check"]: row["status"] for row in report["checks"]}
    assert statuses["control plane login"] == "ok"
    assert statuses["control plane token accepted"] == "ok"
    assert statuses["serverless api key accepted"] == "ok"


def test_doctor_with_only_an_inference_key(platform: Platform, tmp_path: Path) -> None:
    made = platform.operator("api-keys", "create", "--user", EMAIL, "--name", "operator")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()  # the key alone on stdout
    assert secret.startswith("tm_sk_")
    user = User(platform, tmp_path / "config")
    ready = user.tm("doctor", "--exit-status", TENSORMESH_INFERENCE_API_KEY=secret)
    assert ready.returncode == 0, ready.stdout
    assert "not configured" in ready.stdout
    assert ready.stdout.rstrip().endswith("ready")
    wrong = user.tm("doctor", "--exit-status", TENSORMESH_INFERENCE_API_KEY="tm_sk_wrong")
    assert wrong.returncode == 4
    assert "NOT ready" in wrong.stdout


def test_print_token_and_the_token_on_the_sdk(platform: Platform, logged_in: User) -> None:
    refused = logged_in.tm("auth", "print-token")
    assert refused.returncode == 2
    assert refused.stdout == ""
    printed = logged_in.tm("auth", "print-token", "--yes-i-know")
    assert printed.returncode == 0, printed.stderr
    token = printed.stdout.strip()
    assert token.startswith("tmcp_")
    with Tensormesh(
        control_plane_token=token,
        control_plane_base_url=platform.server.controlplane_url,
        env={},
    ) as client:
        assert client.control_plane.users.get_auth_profile().user.user_email == EMAIL


def test_users_update_and_accept_tos(logged_in: User) -> None:
    updated = logged_in.tm("users", "update", "--display-name", "Ada L.", "--company", "AE")
    assert updated.returncode == 0, updated.stderr
    assert "name: Ada L." in updated.stdout
    assert "company: AE" in updated.stdout
    accepted = logged_in.tm("--output", "json", "users", "accept-tos")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["tos_accepted_at"]


def test_expired_access_token_is_refreshed_and_a_replayed_refresh_token_logs_out(
    platform: Platform, browser: Any, tmp_path: Path
) -> None:
    user = User(platform, tmp_path / "config")
    assert browser_login(user, browser)[0] == 0
    before = user.saved_login()
    document = json.loads(user.auth_file.read_text())
    document["logins"][platform.server.controlplane_url]["expires_at"] = "2000-01-01T00:00:00Z"
    user.auth_file.write_text(json.dumps(document))

    whoami = user.tm("auth", "whoami")
    assert whoami.returncode == 0, whoami.stderr
    after = user.saved_login()
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # rotated and kept
    assert after["expires_at"] > "2000-01-01"

    client = Tensormesh(control_plane_base_url=platform.server.controlplane_url, env={})
    with client, pytest.raises(tensormesh.AuthenticationError):
        client.control_plane.auth.cli.refresh(refresh_token=before["refresh_token"])
    # The replay revoked the whole login: tm says what to do, without a traceback.
    again = user.tm("auth", "whoami")
    assert again.returncode == 4
    assert "tm auth login" in again.stderr
    assert "Traceback" not in again.stderr
