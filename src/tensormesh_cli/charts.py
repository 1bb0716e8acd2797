"""Small charts for the terminal: Unicode sparklines (`▁▂▃▄▅▆▇█`), coloured only when colour is
enabled (a terminal, no NO_COLOR)."""

from __future__ import annotations

from collections.abc import Sequence

import click

__all__ = ["sparkline", "sparkline_row"]

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One block per value, scaled from 0 to the largest value; a gap for a missing value."""
    present = [value for value in values if value is not None]
    top = max(present, default=0.0)
    cells = []
    for value in values:
        if value is None:
            cells.append(" ")
        elif top <= 0:
            cells.append(BLOCKS[0])
        else:
            index = round(max(value, 0.0) / top * (len(BLOCKS) - 1))
            cells.append(BLOCKS[index])
    return "".join(cells)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) or abs(value) >= 100 else f"{value:,.2f}"


def sparkline_row(
    label: str, values: Sequence[float | None], *, width: int, color: str | None = None
) -> str:
    """`label  ▁▃█▅  max 12, last 7`: a labelled sparkline (coloured when `color` is given)."""
    line = sparkline(values)
    if color:
        line = click.style(line, fg=color)
    present = [value for value in values if value is not None]
    summary = f"max {_number(max(present))}, last {_number(present[-1])}" if present else "no data"
    return f"{label.ljust(width)}  {line}  {summary}"
