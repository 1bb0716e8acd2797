"""The one place that turns results into output: `--output text|json|yaml|raw|table`.

Data goes to stdout, messages to stderr. yaml and rich are imported only when used. Colour is used
only on a terminal and never when `NO_COLOR` is set.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import click

OUTPUT_FORMATS = ("text", "json", "yaml", "raw", "table")


def color_enabled(stream: IO[str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def to_plain(value: Any) -> Any:
    """Turn SDK models, dataclasses, mappings and sequences into JSON-compatible data."""
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return to_plain(model_dump(mode="json", exclude_unset=True))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass(frozen=True)
class View:
    """One result, ready for every output format.

    `data` feeds json, yaml (and the default text and table layouts); `text` is the human form for
    `--output text`; `rows`/`columns` the table; `raw` the exact response body for `--output raw`.
    """

    data: Any
    text: str | None = None
    rows: Sequence[Mapping[str, Any]] | None = None
    columns: Sequence[str] | None = None
    raw: str | None = None


def emit(view: View, output: str) -> None:
    """Write `view` to stdout in the `output` format."""
    data = to_plain(view.data)
    if output == "json":
        click.echo(dump_json(data))
    elif output == "yaml":
        click.echo(dump_yaml(data), nl=False)
    elif output == "raw":
        click.echo(view.raw if view.raw is not None else dump_json(data, compact=True))
    elif output == "table":
        rows = [to_plain(row) for row in view.rows] if view.rows is not None else table_rows(data)
        print_table(rows, view.columns)
    else:
        click.echo(view.text if view.text is not None else format_text(data))


def dump_json(data: Any, *, compact: bool = False) -> str:
    if compact:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(data, ensure_ascii=False, indent=2)


def dump_yaml(data: Any) -> str:
    try:
        import yaml
    except ImportError:  # PyYAML should be installed with tm; guard a broken install
        from tensormesh_cli.errors import CliError

        raise CliError("--output yaml needs PyYAML: pip install pyyaml") from None

    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _scalar_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return dump_json(value, compact=True)
    return str(value)


def format_text(data: Any) -> str:
    """A readable default: `key: value` lines for an object, one line per item for a list."""
    if isinstance(data, Mapping):
        return "\n".join(f"{key}: {_scalar_text(value)}" for key, value in data.items())
    if isinstance(data, list):
        return "\n\n".join(format_text(item) for item in data)
    return _scalar_text(data)


def format_columns(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain aligned table (no colour, no box) for --output text."""
    names = list(columns) if columns else list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_scalar_text(row.get(name)) for name in names] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(names)]
    lines = [[name.upper() for name in names], *cells]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def table_rows(data: Any) -> list[dict[str, Any]]:
    """Rows for a table: a list of objects as is, an object as key/value pairs."""
    if isinstance(data, list) and all(isinstance(item, Mapping) for item in data):
        return [dict(item) for item in data]
    if isinstance(data, Mapping):
        return [{"key": key, "value": value} for key, value in data.items()]
    if isinstance(data, list):
        return [{"value": item} for item in data]
    return [{"value": data}]


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    names = list(columns) if columns else list(dict.fromkeys(key for row in rows for key in row))
    table = Table(highlight=False)
    for name in names:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_scalar_text(row.get(name)) for name in names))
    console = Console(file=sys.stdout, no_color=not color_enabled(), highlight=False)
    console.print(table)


def emit_stream_item(item: Any, output: str) -> None:
    """One item of a stream: a JSON line for json/raw, a YAML document for yaml."""
    data = to_plain(item)
    if output == "yaml":
        click.echo("---\n" + dump_yaml(data), nl=False)
    else:
        click.echo(dump_json(data, compact=True))


def write_deltas(deltas: Iterable[str]) -> str:
    """Print text as it arrives (no buffering), end with a newline; return the whole text."""
    parts: list[str] = []
    stdout = sys.stdout
    try:
        for delta in deltas:
            parts.append(delta)
            stdout.write(delta)
            stdout.flush()
    finally:
        if parts:
            stdout.write("\n")
            stdout.flush()
    return "".join(parts)


def note(message: str) -> None:
    """A secondary message (usage, hints) for the person at the terminal: dim, on stderr."""
    if color_enabled(sys.stderr):
        message = click.style(message, dim=True)
    click.echo(message, err=True)
