"""`tm server up` as a process: startup errors are one line with the right exit code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tensormesh_server.testing.fake_upstream import free_port
from tests.support.servers import running_server

pytestmark = pytest.mark.slow


def server_up(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tensormesh_cli", "server", "up", *args]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=full_env)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert text in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 2


def test_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = server_up("--no-embedded", "--serverless-port", str(port))
    assert_one_line_error(result, 1, "already in use")


def test_missing_model_file(tmp_path: Path) -> None:
    result = server_up("--embedded-model", str(tmp_path / "nope.gguf"))
    assert_one_line_error(result, 1, "not found")


def test_bad_upstream_spec() -> None:
    result = server_up("--no-embedded", "--upstream", "nonsense")
    assert_one_line_error(result, 2, "ID=URL")


def test_bad_port_flag() -> None:
    result = server_up("--serverless-port", "99999")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_without_configured_keys_no_static_key_is_made(tmp_path: Path) -> None:
    env = {"TENSORMESH_SERVER_API_KEYS": ""}
    args = ("--no-embedded", "--upstream", f"m=http://127.0.0.1:{free_port()}")
    with running_server(tmp_path, args=args, env=env) as running:
        running.stop()
        log = running.log()
    assert "tm_sk_" not in log
    assert "listening on http://127.0.0.1:" in log
    assert "model m" in log
