"""The documented examples run against a real local server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EMBEDDED_MODEL
from tests.support.servers import RunningServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_quickstart_streams_text_and_reports_usage(server: RunningServer) -> None:
    env = {
        **os.environ,
        "TENSORMESH_SERVERLESS_BASE_URL": server.serverless_url,
        "TENSORMESH_INFERENCE_API_KEY": server.api_key,
    }
    env.pop("TM_MODEL", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "no streamed text"
    assert "<think>" not in done.stdout
    usage = done.stderr.strip().splitlines()[-1]
    assert usage.startswith("usage: prompt=")
    prompt, completion, total = (int(part.split("=")[1]) for part in usage[7:].split())
    assert prompt > 0
    assert completion > 0
    assert total == prompt + completion


@pytest.mark.slow
def test_quickstart_without_key_fails_with_one_line(server: RunningServer) -> None:
    env = {**os.environ, "TENSORMESH_SERVERLESS_BASE_URL": server.serverless_url}
    env.pop("TENSORMESH_INFERENCE_API_KEY", None)
    env["TM_MODEL"] = EMBEDDED_MODEL
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "TENSORMESH_INFERENCE_API_KEY" in done.stderr
