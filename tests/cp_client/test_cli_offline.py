"""`tm auth`, `tm users` and `tm doctor` behaviour that needs no server: refusals, usage
errors, the saved login (auth.json) and readiness without a control-plane login."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tensormesh_cli.auth_store import AuthStore, Login
from tensormesh_cli.main import cli
from tests.support.mock_sdk import clean_cli_env
from tests.support.servers import free_port

CP = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment whose config directory is empty."""
    return clean_cli_env(tmp_path, monkeypatch)


def tm(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--controlplane-base", CP, *args], env=env)


def save_login(home: Path, **changes: object) -> Login:
    login = Login(CP, "tmcp_saved_token_value", "tmrt_saved", expires_at=4_000_000_000.0)
    login = replace(login, **changes)  # type: ignore[arg-type]
    AuthStore(home / "auth.json").save(login)
    return login


def test_print_token_refuses_without_yes_i_know(home: Path) -> None:
    save_login(home)
    result = tm("auth", "print-token")
    assert result.exit_code == 2
    assert "refusing to print the access token" in result.stderr
    assert "--yes-i-know" in result.stderr
    assert "tmcp_saved_token_value" not in result.output


def test_print_token_prints_the_saved_token(home: Path) -> None:
    save_login(home)
    result = tm("auth", "print-token", "--yes-i-know")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "tmcp_saved_token_value\n"


def test_print_token_prefers_the_environment_token(home: Path) -> None:
    save_login(home)
    result = tm(
        "auth", "print-token", "--yes-i-know", env={"TENSORMESH_CONTROL_PLANE_TOKEN": "tmcp_env"}
    )
    assert result.stdout == "tmcp_env\n"


def test_tokens_are_only_used_for_the_control_plane_that_issued_them(home: Path) -> None:
    save_login(home)
    result = CliRunner().invoke(
        cli, ["--controlplane-base", "http://elsewhere.test", "auth", "print-token", "--yes-i-know"]
    )
    assert result.exit_code == 4
    assert "not logged in to the control plane at http://elsewhere.test" in result.stderr


def test_status_when_not_logged_in(home: Path) -> None:
    plain = tm("auth", "status")
    assert plain.exit_code == 0
    assert f"Not logged in to {CP}" in plain.stdout
    strict = tm("auth", "status", "--exit-status")
    assert strict.exit_code == 4
    as_json = json.loads(tm("--output", "json", "auth", "status").stdout)
    assert as_json["logged_in"] is False


def test_status_with_an_unreachable_control_plane(home: Path) -> None:
    save_login(home, user_email="ada@example.com")
    result = tm("auth", "status", "--exit-status")
    assert result.exit_code == 1
    assert "cannot reach the control plane" in result.stdout
    assert "refresh token: saved" in result.stdout


def test_logout_forgets_only_this_control_plane(home: Path) -> None:
    save_login(home)
    AuthStore(home / "auth.json").save(Login("https://other.test", "tmcp_o", None))
    result = tm("auth", "logout")
    assert result.exit_code == 0
    assert f"Logged out of {CP}" in result.stderr
    assert list(AuthStore(home / "auth.json").logins()) == ["https://other.test"]
    again = tm("auth", "logout")
    assert "Not logged in" in again.stderr
    tm("auth", "logout", "--all")
    assert AuthStore(home / "auth.json").logins() == {}


def test_commands_that_need_a_login_say_how_to_get_one(home: Path) -> None:
    for args in (("auth", "whoami"), ("users", "api-keys", "list"), ("auth", "refresh")):
        result = tm(*args)
        assert result.exit_code == 4, args
        assert "tm auth login" in result.stderr
        assert "Traceback" not in result.output


def test_usage_errors(home: Path) -> None:
    save_login(home)
    nothing = tm("users", "update")
    assert nothing.exit_code == 2
    assert "nothing to change" in nothing.stderr
    both = tm("users", "api-keys", "create", "--expires-in", "3", "--expires-at", "2030-01-01")
    assert both.exit_code == 2
    bad_time = tm("users", "api-keys", "create", "--expires-at", "soon")
    assert bad_time.exit_code == 2
    assert "RFC 3339" in bad_time.stderr


def test_doctor_reports_the_control_plane_as_not_configured(home: Path) -> None:
    serverless = f"http://127.0.0.1:{free_port()}"
    result = tm("--output", "json", "--serverless-base", serverless, "doctor")
    report = json.loads(result.stdout)
    by_name = {row["check"]: row for row in report["checks"]}
    assert by_name["control plane login"]["status"] == "not configured"
    assert by_name["serverless reachable"]["status"] == "fail"
    assert report["ready"] is False
    strict = tm("--serverless-base", serverless, "doctor", "--exit-status")
    assert strict.exit_code == 1
