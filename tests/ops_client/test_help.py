"""`tm --help` and the help of the operations groups stay fast: no SDK, pydantic or rich, and
`tm --help` imports none of the operations command modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("tensormesh", "pydantic", "httpx2", "rich", "yaml")
OPS_MODULES = (
    "activities",
    "admin",
    "completion",
    "logs",
    "metrics",
    "models",
    "products",
    "reserved_deployments",
    "tickets",
)


def loaded_after(argv: list[str]) -> dict[str, list[str]]:
    """The heavy packages and the command modules imported by running `tm ARGV` in-process."""
    code = (
        "import json, sys\n"
        "from tensormesh_cli.main import cli\n"
        "try:\n"
        f"    cli.main({argv!r}, prog_name='tm')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = {{name.split('.')[0] for name in sys.modules}} & set({HEAVY!r})\n"
        "commands = [n for n in sys.modules if n.startswith('tensormesh_cli.commands.')]\n"
        "print(json.dumps({'heavy': sorted(heavy), 'commands': sorted(commands)}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: dict[str, list[str]] = json.loads(completed.stdout.strip().splitlines()[-1])
    return loaded


def test_root_help_imports_no_operations_module() -> None:
    loaded = loaded_after(["--help"])
    assert loaded["heavy"] == []
    assert not [name for name in loaded["commands"] if name.split(".")[2] in OPS_MODULES], loaded[
        "commands"
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["models", "--help"],
        ["logs", "--help"],
        ["metrics", "deployment", "--help"],
        ["tickets", "list", "--help"],
        ["admin", "users", "--help"],
        ["completion", "bash"],
    ],
)
def test_group_help_imports_nothing_heavy(argv: list[str]) -> None:
    assert loaded_after(argv)["heavy"] == []
