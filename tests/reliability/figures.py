"""The reliability suite's figures, summed over its tests and printed at the end of the run.

Tests call `count("requests run", n)` (or any other name); `TENSORMESH_RELIABILITY_SCALE=N`
multiplies the amount of work of the tests that honour it (the longer variants)."""

from __future__ import annotations

import os
from collections import Counter

FIGURES: Counter[str] = Counter()
"""Totals by name, in the order first counted."""

SCALE = max(1, int(os.environ.get("TENSORMESH_RELIABILITY_SCALE", "1") or "1"))
"""How much longer than the CI variant the load tests run (1: the CI variant)."""


def count(name: str, amount: int = 1) -> None:
    """Add `amount` to the figure `name`."""
    FIGURES[name] += amount


def lines() -> list[str]:
    """The figures as printable lines."""
    width = max((len(name) for name in FIGURES), default=0)
    return [f"{name:<{width}}  {total}" for name, total in FIGURES.items()]


DETAILS: list[str] = []
"""Free-form lines (one per test that has something to say), printed after the totals."""


def detail(line: str) -> None:
    """Print `line` with the figures at the end of the run."""
    DETAILS.append(line)
