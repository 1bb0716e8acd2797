"""The root group: global options, lazy subcommands, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tensormesh_cli.commands import version as version_module
from tests.cli.conftest import Tm, clean_environ, run_tm_process

HEAVY_MODULES = ("tensormesh", "pydantic", "httpx2", "httpx", "rich", "yaml", "tomli_w")
_LIST_HEAVY = (
    "import json, sys\n"
    "heavy = {name.split('.')[0] for name in sys.modules} & set(sys.argv[1:])\n"
    "print(json.dumps(sorted(heavy)))\n"
)


def _heavy_after(code: str) -> list[str]:
    script = code + "\n" + _LIST_HEAVY
    completed = subprocess.run(
        [sys.executable, "-c", script, *HEAVY_MODULES],
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(completed.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [[], ["--help"], ["infer", "--help"], ["config", "--help"]],
    ids=["import", "help", "infer-help", "config-help"],
)
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    assert _heavy_after(_run_tm(argv)) == []


def test_the_import_check_sees_the_sdk_when_a_command_needs_it() -> None:
    assert "tensormesh" in _heavy_after(_run_tm(["version"]))


def _run_tm(argv: list[str]) -> str:
    """Python code that runs `tm ARGV` in-process (or only imports it when ARGV is empty)."""
    return (
        "from tensormesh_cli.main import cli\n"
        f"if {argv!r}:\n"
        "    try:\n"
        f"        cli.main({argv!r}, prog_name='tm')\n"
        "    except SystemExit:\n"
        "        pass\n"
    )


def test_help_lists_every_group(tm: Tm) -> None:
    result = tm("--help")
    assert result.exit_code == 0
    for group in ("config", "infer", "server", "version"):
        assert f"  {group} " in result.stdout


def test_infer_help_lists_every_command(tm: Tm) -> None:
    result = tm("infer", "--help")
    for name in ("chat", "completions", "responses", "tokenize", "detokenize", "doctor"):
        assert f"  {name} " in result.stdout


def test_version_flag(tm: Tm) -> None:
    result = tm("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("tm ")


def test_version_command_reports_cli_and_sdk(tm: Tm) -> None:
    result = tm("-o", "json", "version")
    data = json.loads(result.stdout)
    assert set(data) == {"cli", "sdk", "python"}


def test_usage_errors_exit_2(tm: Tm) -> None:
    assert tm("nope").exit_code == 2
    assert tm("--output", "xml", "config", "show").exit_code == 2
    assert tm("--timeout", "soon", "config", "show").exit_code == 2


def test_interrupt_is_one_line_and_exit_130(tm: Tm, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted() -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(version_module.versions, "cli_version", interrupted)
    result = tm("version")
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted."


def test_unexpected_errors_are_one_line_unless_debugging(
    tm: Tm, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> str:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(version_module.versions, "cli_version", broken)
    result = tm("version")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: unexpected RuntimeError: boom second line (run with --debug for details)"
    )
    debug = tm("--debug", "version")
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr


def test_no_key_exits_4_before_any_request(tm: Tm) -> None:
    result = tm("infer", "chat", "--model", "m", "hello")
    assert result.exit_code == 4
    assert "TENSORMESH_INFERENCE_API_KEY" in result.stderr
    assert "[overrides]" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ["infer", "chat", "--json", "{not json"],
        ["infer", "chat", "--json", "[]", "--file", "x.json"],
        ["infer", "completions", "--json", '{"model": "m"}'],
        ["infer", "chat", "--json", '{"messages": "hello"}'],
    ],
)
def test_bad_input_exits_2_with_one_line(tm: Tm, args: list[str]) -> None:
    result = tm(*args, env={"TENSORMESH_INFERENCE_API_KEY": "tm-key-abcdefghijkl"})
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1


def test_piped_bad_json_exits_2(tm: Tm) -> None:
    result = tm("infer", "chat", "--model", "m", input='[{"role": "user"')
    assert result.exit_code == 2
    assert "invalid JSON in stdin" in result.stderr


def test_entry_point_runs_as_a_module(tmp_path: Path) -> None:
    completed = run_tm_process(["config", "path"], clean_environ(tmp_path))
    assert completed.code == 0
    assert completed.stdout.strip() == str(tmp_path / "config.toml")
