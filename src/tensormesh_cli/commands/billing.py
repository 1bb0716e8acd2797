"""`tm billing`: your balance, transactions, spending, serverless prices and billing address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.billing_support import amount_text, money_text
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.errors import InputError
from tensormesh_cli.listing import compact
from tensormesh_cli.render import View, emit, format_columns, format_text, to_plain
from tensormesh_cli.state import CliState, get_state

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import TypeVar

    from tensormesh.resources.control_plane import ControlPlane
    from tensormesh.types.billing import (
        BillingAddress,
        BillingTransaction,
        ServerlessPricing,
        SpendingSummary,
    )

    T = TypeVar("T")

USER_ID_HELP = "Act on another user's behalf (admins only)."
TRANSACTION_COLUMNS = ("id", "created", "type", "amount", "status", "description")
PRICING_COLUMNS = ("model", "input", "output", "cached", "currency", "active", "id", "name")
HISTORY_COLUMNS = ("bucket_start", "amount", "cost_saving")
ADDRESS_FIELDS = (
    "name",
    "company",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
)


_SESSION_KEY = "tensormesh_cli.billing.control_plane_session"


def call(state: CliState, operation: Callable[[ControlPlane], T]) -> T:
    """Run `operation` on the control plane with the invocation's login (one session, so one
    SDK client, however many calls a command makes)."""
    meta = click.get_current_context().meta
    if _SESSION_KEY not in meta:
        meta[_SESSION_KEY] = ControlPlaneSession.for_state(state)
    session: ControlPlaneSession = meta[_SESSION_KEY]
    return session.call(operation)


def show(
    state: CliState,
    data: Any,
    text: str,
    rows: Sequence[Mapping[str, Any]] | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Print one result (`text` for --output text, `data` for json/yaml, rows for table)."""
    emit(View(data=data, text=text, rows=rows, columns=columns), state.output)


def time_text(value: Any) -> str | None:
    """A timestamp as `2026-11-21T10:00:00Z` (None stays None)."""
    if value is None:
        return None
    from tensormesh.types.control_plane import format_timestamp

    return format_timestamp(value)


@click.group()
def billing() -> None:
    """Your balance, transactions, spending, prices and billing address."""


@billing.command()
@click.option("--user-id", help=USER_ID_HELP)
def balance(user_id: str | None) -> None:
    """Show the balance (credits minus charges)."""
    state = get_state()
    reply = call(state, lambda cp: cp.billing.balance.get(user_id=user_id))
    show(state, reply, money_text(reply.balance))


@billing.group()
def transactions() -> None:
    """The ledger: credits, usage charges and refunds."""


def transaction_row(item: BillingTransaction) -> dict[str, Any]:
    """One transaction as a table row."""
    return {
        "id": item.transaction_id,
        "created": time_text(item.created_at),
        "type": str(item.type).removeprefix("TRANSACTION_TYPE_") if item.type else None,
        "amount": money_text(item.amount),
        "status": item.status,
        "description": item.description,
    }


@transactions.command("list")
@click.option("--page-size", type=click.IntRange(min=1), help="Transactions per page.")
@click.option("--page-token", help="The page to fetch (from a previous page's next token).")
@click.option("--all", "all_pages", is_flag=True, help="Fetch every page.")
@click.option("--user-id", help=USER_ID_HELP)
def list_transactions(
    page_size: int | None, page_token: str | None, all_pages: bool, user_id: str | None
) -> None:
    """List transactions, newest first (one page, or every page with --all)."""
    if all_pages and page_token:
        raise InputError("give --page-token or --all, not both")
    state = get_state()
    params: dict[str, Any] = compact(
        {"page_size": page_size, "page_token": page_token, "user_id": user_id}
    )
    next_token = ""
    if all_pages:
        items = call(state, lambda cp: list(cp.billing.transactions.auto_paging_iter(**params)))
        data: dict[str, Any] = {"transactions": [to_plain(item) for item in items]}
    else:
        page = call(state, lambda cp: cp.billing.transactions.list(**params))
        items, next_token = page.transactions, page.next_page_token
        data = {"transactions": [to_plain(item) for item in items], "next_page_token": next_token}
    rows = [transaction_row(item) for item in items]
    text = format_columns(rows, TRANSACTION_COLUMNS) if rows else "(no transactions)"
    show(state, data, text, rows, TRANSACTION_COLUMNS)
    if next_token and state.output in ("text", "table"):
        state.say(f"More: --page-token {next_token} (or --all).")


@billing.group()
def spending() -> None:
    """What you spent: totals over 24h/7d/30d, and history."""


def summary_fields(summary: SpendingSummary) -> dict[str, str]:
    """The three totals of a spending summary, as text."""
    return {
        "last 24 hours": money_text(summary.spend_24h),
        "last 7 days": money_text(summary.spend_7d),
        "last 30 days": money_text(summary.spend_30d),
    }


@spending.command()
@click.option("--user-id", help=USER_ID_HELP)
def summary(user_id: str | None) -> None:
    """Spend over the last 24 hours, 7 days and 30 days."""
    state = get_state()
    reply = call(state, lambda cp: cp.billing.spending.summary(user_id=user_id))
    show(state, reply, format_text(summary_fields(reply)))


@spending.command()
@click.option("--user-id", help=USER_ID_HELP)
def history(user_id: str | None) -> None:
    """Spend and cache savings per period."""
    state = get_state()
    reply = call(state, lambda cp: cp.billing.spending.history(user_id=user_id))
    rows = [
        {
            "bucket_start": time_text(bucket.bucket_start),
            "amount": money_text(bucket.amount),
            "cost_saving": money_text(bucket.cost_saving),
        }
        for bucket in reply.buckets
    ]
    text = format_columns(rows, HISTORY_COLUMNS) if rows else "(no spending yet)"
    show(state, reply, text, rows, HISTORY_COLUMNS)


@billing.group()
def pricing() -> None:
    """Prices (Money per 1,000,000 tokens)."""


@pricing.group("serverless")
def serverless_pricing() -> None:
    """Serverless prices per model."""


def pricing_row(price: ServerlessPricing) -> dict[str, Any]:
    """One model's prices (per 1M tokens) as a table row."""
    currency = next(
        (
            money.currency_code
            for money in (price.input_token_price, price.output_token_price)
            if money is not None
        ),
        None,
    )
    return {
        "model": price.model,
        "input": amount_text(price.input_token_price),
        "output": amount_text(price.output_token_price),
        "cached": amount_text(price.cached_token_price),
        "currency": currency,
        "active": None if price.is_active is None else ("yes" if price.is_active else "no"),
        "id": price.id,
        "name": price.name,
    }


def show_pricing(state: CliState, reply: Any) -> None:
    """Print a pricing list (prices per 1M tokens)."""
    rows = [pricing_row(price) for price in reply.pricing]
    text = format_columns(rows, PRICING_COLUMNS) if rows else "(no prices)"
    show(state, reply, text, rows, PRICING_COLUMNS)
    if rows and state.output == "text":
        state.say("Prices per 1,000,000 tokens.")


@serverless_pricing.command("list")
@click.option("--model", help="Only this model's prices.")
@click.option("--active-only", is_flag=True, help="Only the prices in effect.")
def list_pricing(model: str | None, active_only: bool) -> None:
    """List serverless prices per model."""
    state = get_state()
    params = compact({"model": model, "active_only": active_only or None})
    show_pricing(state, call(state, lambda cp: cp.billing.pricing.serverless.list(**params)))


@billing.group()
def address() -> None:
    """The billing address."""


def show_address(state: CliState, value: BillingAddress) -> None:
    fields = {name: getattr(value, name) for name in ADDRESS_FIELDS}
    text = format_text(fields) if any(fields.values()) else "(no billing address)"
    show(state, value, text)


@address.command("get")
@click.option("--user-id", help=USER_ID_HELP)
def get_address(user_id: str | None) -> None:
    """Show the billing address."""
    state = get_state()
    show_address(state, call(state, lambda cp: cp.billing.address.get(user_id=user_id)).address)


@address.command("update")
@click.option("--name")
@click.option("--company")
@click.option("--line1")
@click.option("--line2")
@click.option("--city")
@click.option("--state", "state_")
@click.option("--postal-code")
@click.option("--country")
@click.option("--phone")
@click.option("--user-id", help=USER_ID_HELP)
def update_address(user_id: str | None, state_: str | None, **fields: str | None) -> None:
    """Change the billing address (only the options given change)."""
    changes = compact({**fields, "state": state_})
    if not changes:
        options = ", ".join(f"--{name.replace('_', '-')}" for name in ADDRESS_FIELDS)
        raise InputError(f"nothing to change: give one or more of {options}")
    state = get_state()

    def apply(cp: ControlPlane) -> BillingAddress:
        current = cp.billing.address.get(user_id=user_id).address
        cp.billing.address.update(current, user_id=user_id, **changes)
        return cp.billing.address.get(user_id=user_id).address

    updated = call(state, apply)
    state.say("Updated the billing address.")
    show_address(state, updated)
