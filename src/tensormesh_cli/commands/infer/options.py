"""Options shared by the generation commands (chat, completions, responses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_GENERATION_OPTIONS: tuple[Callable[[Any], Any], ...] = (
    click.option(
        "--model", "-m", help="Model id (default: $TM_MODEL, or the server's only model)."
    ),
    click.option(
        "--json", "json_text", metavar="JSON", help="The input, or a full request object, as JSON."
    ),
    click.option("--file", "-f", metavar="PATH", help="Read that JSON from PATH (`-` for stdin)."),
    click.option("--stream/--no-stream", default=None, help="Print the reply as it is generated."),
    click.option("--temperature", type=float, help="Sampling temperature (0 = greedy)."),
    click.option("--show-usage", is_flag=True, help="Print token usage to stderr."),
)


def generation_options(function: F) -> F:
    """Add --model, --json, --file, --stream, --temperature and --show-usage to a command."""
    for option in reversed(_GENERATION_OPTIONS):
        function = option(function)
    return function


def set_fields(**fields: Any) -> dict[str, Any]:
    """Only the fields the user set (None means "not given", so the server default applies)."""
    return {name: value for name, value in fields.items() if value is not None}
