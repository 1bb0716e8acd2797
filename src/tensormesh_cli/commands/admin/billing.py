"""`tm admin billing`: balances of any user, granting credit, spending summaries and the
serverless price list. Commands that move money or change prices ask for confirmation
(`--yes` skips it; without a terminal they refuse unless `--yes` is given)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.billing_support import confirm_change, money_text, parse_amount
from tensormesh_cli.commands.billing import call, show, show_pricing, summary_fields
from tensormesh_cli.errors import InputError
from tensormesh_cli.listing import compact
from tensormesh_cli.render import format_columns
from tensormesh_cli.state import get_state

if TYPE_CHECKING:
    from tensormesh.resources.control_plane import ControlPlane
    from tensormesh.types.billing import PricingReply, ServerlessPricing

BALANCE_COLUMNS = ("user_id", "balance")
SUMMARY_COLUMNS = ("user_id", "last 24 hours", "last 7 days", "last 30 days")
YES_HELP = "Do not ask for confirmation."


@click.group()
def billing() -> None:
    """Balances, credit, spending and serverless prices of any user."""


@billing.group()
def balances() -> None:
    """Balances of users; granting credit."""


@balances.command("get")
@click.argument("user_ids", metavar="USER_ID...", nargs=-1, required=True)
def get_balances(user_ids: tuple[str, ...]) -> None:
    """Show the balances of one or more users."""
    state = get_state()
    reply = call(state, lambda cp: cp.admin.billing.balances.get(target_user_ids=list(user_ids)))
    rows = [
        {"user_id": item.user_id, "balance": money_text(item.balance)} for item in reply.balances
    ]
    text = format_columns(rows, BALANCE_COLUMNS) if rows else "(no balances)"
    show(state, reply, text, rows, BALANCE_COLUMNS)


@balances.command("add")
@click.argument("user_id")
@click.argument("amount")
@click.option("--yes", "-y", is_flag=True, help=YES_HELP)
def add_balance(user_id: str, amount: str, yes: bool) -> None:
    """Credit AMOUNT ("12.50" or "12.5 USD") to USER_ID's balance."""
    money = parse_amount(amount, "AMOUNT")
    confirm_change(f"Add {money} to the balance of user {user_id}?", yes)
    state = get_state()
    reply = call(
        state, lambda cp: cp.admin.billing.balances.add(target_user_id=user_id, amount=money)
    )
    state.say(f"Added {money} to user {user_id}.")
    show(state, reply, f"balance: {money_text(reply.balance)}")


@billing.group()
def spending() -> None:
    """Spending summaries of users."""


@spending.command("summary")
@click.argument("user_ids", metavar="USER_ID...", nargs=-1, required=True)
def spending_summary(user_ids: tuple[str, ...]) -> None:
    """Spend over 24h, 7d and 30d of one or more users."""
    state = get_state()
    reply = call(
        state, lambda cp: cp.admin.billing.spending.summary(target_user_ids=list(user_ids))
    )
    rows = [{"user_id": item.user_id, **summary_fields(item)} for item in reply.summaries]
    text = format_columns(rows, SUMMARY_COLUMNS) if rows else "(no summaries)"
    show(state, reply, text, rows, SUMMARY_COLUMNS)


@billing.group()
def pricing() -> None:
    """Prices (Money per 1,000,000 tokens)."""


@pricing.group("serverless")
def serverless_pricing() -> None:
    """Serverless prices per model: list, create or change, delete."""


@serverless_pricing.command("list")
@click.option("--model", help="Only this model's prices.")
@click.option("--active-only", is_flag=True, help="Only the prices in effect.")
def list_pricing(model: str | None, active_only: bool) -> None:
    """List serverless prices (inactive ones included unless --active-only)."""
    state = get_state()
    params = compact({"model": model, "active_only": active_only or None})
    show_pricing(state, call(state, lambda cp: cp.admin.billing.pricing.serverless.list(**params)))


def _json_pricing(text: str) -> dict[str, Any]:
    raw = sys.stdin.read() if text == "-" else text
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"--json is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("pricing"), dict):
        data = data["pricing"]
    if not isinstance(data, dict):
        raise InputError('--json must be a JSON object (a pricing, or {"pricing": {...}})')
    return data


def _checked(fields: dict[str, Any]) -> ServerlessPricing:
    from pydantic import ValidationError

    from tensormesh.types.billing import ServerlessPricing

    try:
        return ServerlessPricing.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "pricing"
        raise InputError(f"invalid pricing: {where}: {first['msg']}") from None


def pricing_fields(flags: dict[str, Any], json_text: str | None) -> dict[str, Any]:
    """The pricing to send (wire names, no nulls): --json (if given) with the flags given
    merged over it, prices checked (0 or more: "0.10", "0.10 USD") before anything is sent."""
    fields: dict[str, Any] = {}
    if json_text is not None:
        fields = _checked(_json_pricing(json_text)).model_dump(exclude_none=True)
    for option, key in (
        ("--input-price", "input_token_price"),
        ("--output-price", "output_token_price"),
        ("--cached-price", "cached_token_price"),
    ):
        if flags.get(key) is not None:
            fields[key] = parse_amount(flags[key], option, allow_zero=True)
    fields.update(compact({k: v for k, v in flags.items() if not k.endswith("_price")}))
    checked = _checked(fields)
    if not checked.model:
        raise InputError('the pricing needs a model: give --model (or "model" in --json)')
    prices = (checked.input_token_price, checked.output_token_price, checked.cached_token_price)
    if any(money is not None and money.to_nanos() < 0 for money in prices):
        raise InputError("prices must be 0 or more")
    return checked.to_wire()


def upsert(cp: ControlPlane, fields: dict[str, Any]) -> tuple[str, PricingReply]:
    """Change the entry with `id` (or the model's existing entry), else create one."""
    prices = cp.admin.billing.pricing.serverless
    if not fields.get("id"):
        existing = [
            p for p in prices.list(model=fields["model"]).pricing if p.model == fields["model"]
        ]
        if existing:
            fields = {**fields, "id": _preferred(existing).id}
    if fields.get("id"):
        return "Updated", prices.update(fields)
    return "Created", prices.create(fields)


def _preferred(entries: list[ServerlessPricing]) -> ServerlessPricing:
    active = [entry for entry in entries if entry.is_active]
    return (active or entries)[0]


@serverless_pricing.command("upsert")
@click.option("--model", help="The model the prices apply to.")
@click.option("--input-price", metavar="AMOUNT", help="Per 1M input tokens, e.g. 0.10.")
@click.option("--output-price", metavar="AMOUNT", help="Per 1M output tokens.")
@click.option("--cached-price", metavar="AMOUNT", help="Per 1M cached input tokens.")
@click.option("--name", help="A display name.")
@click.option("--id", "pricing_id", help="The entry to change (default: the model's entry).")
@click.option("--active/--inactive", "is_active", default=None, help="Whether the prices apply.")
@click.option("--json", "json_text", metavar="JSON", help="The pricing as JSON ('-' for stdin).")
@click.option("--yes", "-y", is_flag=True, help=YES_HELP)
def upsert_pricing(
    model: str | None,
    input_price: str | None,
    output_price: str | None,
    cached_price: str | None,
    name: str | None,
    pricing_id: str | None,
    is_active: bool | None,
    json_text: str | None,
    yes: bool,
) -> None:
    """Create a model's prices, or change them (from flags, or --json)."""
    flags = {
        "model": model,
        "name": name,
        "id": pricing_id,
        "is_active": is_active,
        "input_token_price": input_price,
        "output_token_price": output_price,
        "cached_token_price": cached_price,
    }
    fields = pricing_fields(flags, json_text)
    confirm_change(f"Set the serverless prices of {fields['model']}?", yes)
    state = get_state()
    verb, reply = call(state, lambda cp: upsert(cp, fields))
    state.say(f"{verb} the prices of {reply.pricing.model or fields['model']}.")
    show_pricing(state, _as_list(reply.pricing))


def _as_list(price: ServerlessPricing) -> Any:
    from tensormesh.types.billing import PricingList

    return PricingList(pricing=[price])


@serverless_pricing.command("delete")
@click.argument("pricing_id")
@click.option("--yes", "-y", is_flag=True, help=YES_HELP)
def delete_pricing(pricing_id: str, yes: bool) -> None:
    """Delete the price entry PRICING_ID."""
    confirm_change(f"Delete the price entry {pricing_id}?", yes)
    state = get_state()
    reply = call(state, lambda cp: cp.admin.billing.pricing.serverless.delete(pricing_id))
    state.say(f"Deleted the price entry {pricing_id}.")
    if state.output != "text":
        show(state, reply, "")
