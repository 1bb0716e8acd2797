"""Shared by the billing commands (`tm billing`, `tm admin billing`, `tm cost`): amounts as
people type and read them, and the confirmation asked before money moves.

The SDK is imported only inside functions, so importing this module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tensormesh_cli.errors import CliError, InputError
from tensormesh_cli.prompting import interactive

if TYPE_CHECKING:
    from tensormesh.types import Money

__all__ = ["amount_text", "confirm_change", "money_text", "parse_amount"]


def amount_text(money: Money | None) -> str | None:
    """An amount as a decimal string with at least 2 decimals ("12.50", "0.00027")."""
    return None if money is None else money.format()


def money_text(money: Money | None) -> str:
    """An amount with its currency ("12.50 USD"), "-" when there is none."""
    return "-" if money is None else str(money)


def parse_amount(text: str, option: str, *, allow_zero: bool = False) -> Money:
    """A positive amount as typed ("12.50", "12.5 USD"); a usage error (exit 2) otherwise."""
    from tensormesh.types import Money

    try:
        money = Money.parse(text)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}") from None
    nanos = money.to_nanos()
    if nanos < 0 or (nanos == 0 and not allow_zero):
        smallest = "0 or more" if allow_zero else "more than 0"
        raise InputError(f"{option} must be {smallest}, not {text.strip()!r}")
    return money


def confirm_change(question: str, yes: bool) -> None:
    """Go on only when `--yes` was given or the person at the terminal agrees; without a
    terminal and without `--yes`, refuse (exit 2) before anything is sent."""
    if yes:
        return
    if not interactive():
        raise InputError(f"{question} Not confirmed (no terminal to ask on): add --yes")
    if not click.confirm(question, default=False, err=True):
        raise CliError("cancelled: nothing was changed")
