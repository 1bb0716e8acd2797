"""Asking for missing input: only when stdin is a terminal; otherwise a usage error that names
the option to give."""

from __future__ import annotations

import sys
from typing import Any

import click

from tensormesh_cli.errors import InputError

__all__ = ["ask", "interactive", "read_text"]


def interactive() -> bool:
    """Whether a person can answer prompts (stdin is a terminal)."""
    isatty = getattr(sys.stdin, "isatty", None)
    return bool(isatty and isatty())


def ask(label: str, option: str, *, value_type: Any = str) -> Any:
    """Prompt for a missing value on a terminal; fail with exit code 2 naming `option` elsewhere."""
    if not interactive():
        raise InputError(f"missing {option} (no terminal to ask on)")
    return click.prompt(label, type=value_type, err=True)


def read_text(value: str | None, label: str, option: str) -> str:
    """A text argument: as given, `-` for stdin, or asked for on a terminal. Never empty."""
    if value == "-":
        value = sys.stdin.read()
    elif value is None:
        value = str(ask(label, option))
    value = value.strip()
    if not value:
        raise InputError(f"{option} must not be empty")
    return value
