"""`tm completion`: the scripts are valid, and completion works through click's protocol."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Tm


def completion_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TENSORMESH_", "TM_", "_TM_"))
    }
    environ["TM_CONFIG_HOME"] = str(tmp_path / "tm-config")
    environ.update(extra)
    return environ


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_script_names_tm_and_its_protocol(tm: Tm, shell: str) -> None:
    result = tm("completion", shell)
    assert result.exit_code == 0, result.stderr
    assert "_TM_COMPLETE" in result.stdout
    assert f"{shell}_complete" in result.stdout


def test_the_bash_script_is_valid_bash(tm: Tm, tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    script = tmp_path / "tm.bash"
    script.write_text(tm("completion", "bash").stdout)
    checked = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_an_unknown_shell_is_a_usage_error(tm: Tm) -> None:
    assert tm("completion", "tcsh").exit_code == 2


def _complete(tmp_path: Path, words: str, cword: int) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "tensormesh_cli"],
        env=completion_env(
            tmp_path, _TM_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD=str(cword)
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


def test_completing_tm_inf_offers_infer(tmp_path: Path) -> None:
    assert _complete(tmp_path, "tm inf", 1) == ["plain,infer"]


def test_completing_a_subcommand_of_a_lazy_group(tmp_path: Path) -> None:
    assert _complete(tmp_path, "tm models val", 2) == ["plain,validate-name"]


def test_the_sourced_bash_script_completes_tm_inf(tm: Tm, tmp_path: Path) -> None:
    """Source the printed script in bash and call its completion function, as bash would."""
    bash = shutil.which("bash")
    assert bash is not None
    script = tmp_path / "tm.bash"
    script.write_text(tm("completion", "bash").stdout)
    launcher = tmp_path / "tm"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tensormesh_cli "$@"\n')
    launcher.chmod(0o755)
    program = (
        f"source {script}\n"
        "COMP_WORDS=(tm inf); COMP_CWORD=1\n"
        f"_tm_completion {launcher}\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    completed = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", program],
        env=completion_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["infer"]
