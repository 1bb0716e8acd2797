"""Fixtures for the `tm` tests: an isolated environment and a runner for the real root group."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tensormesh_cli.main import cli

# Everything a user's shell could set that would change what `tm` resolves.
_SETTING_PREFIXES = ("TENSORMESH_", "TM_")


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: no TENSORMESH_*/TM_* variables, config in a temporary directory."""
    for name in list(os.environ):
        if name.startswith(_SETTING_PREFIXES) or name == "NO_COLOR":
            monkeypatch.delenv(name)
    home = tmp_path / "tm-config"
    monkeypatch.setenv("TM_CONFIG_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return home


class Tm:
    """Runs `tm` in-process with CliRunner (stdout and stderr kept apart)."""

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, env=dict(env or {}))


@pytest.fixture
def tm(config_home: Path) -> Tm:
    return Tm()


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str


def run_tm_process(
    args: Sequence[str], env: Mapping[str, str], input: str | None = None, timeout: float = 120
) -> Completed:
    """Run the real `tm` (python -m tensormesh_cli) in a subprocess."""
    completed = subprocess.run(
        [sys.executable, "-m", "tensormesh_cli", *args],
        input=input,
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=timeout,
        check=False,
    )
    return Completed(completed.returncode, completed.stdout, completed.stderr)


def clean_environ(config_home: Path, **extra: str) -> dict[str, str]:
    """os.environ without TENSORMESH_*/TM_* settings, with TM_CONFIG_HOME and `extra`."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SETTING_PREFIXES) and name != "NO_COLOR"
    }
    environ["TM_CONFIG_HOME"] = str(config_home)
    environ.update(extra)
    return environ
