"""`/v1/billing/*` (API.md §2 Billing): balance, transactions, spending, serverless usage,
public prices, billing address. `userId` lets an admin act for another user."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.billing import (
    AddressReply,
    AddressUpdate,
    BalanceReply,
    PricingList,
    SpendingBucket,
    SpendingHistory,
    SpendingSummary,
    TransactionList,
    UsageBucket,
    UsageHistory,
    UsageRow,
)
from tensormesh.types.control_plane import Empty
from tensormesh_server.controlplane.errors import invalid_argument
from tensormesh_server.controlplane.services import (
    billing,
    billing_ledger,
    billing_pricing,
    billing_usage,
    users,
)
from tensormesh_server.controlplane.services.activities import Actor
from tensormesh_server.controlplane.services.billing_ledger import money
from tensormesh_server.store.models import User

from .common import as_user, flag, json_object, parse, reply

DEFAULT_USAGE_DAYS = 30


def query(request: Request, camel: str, snake: str | None = None) -> str | None:
    """A query parameter by its camelCase name (or its snake_case spelling)."""
    value = request.query_params.get(camel)
    if value is None and snake is not None:
        value = request.query_params.get(snake)
    return value


def summary_of(session: Session, user_id: str, now: datetime) -> SpendingSummary:
    """The 24h / 7d / 30d spend of one user."""
    spend = billing_usage.spending_summary(session, user_id, now)
    return SpendingSummary(
        spend24h=money(spend["24h"]), spend7d=money(spend["7d"]), spend30d=money(spend["30d"])
    )


async def get_balance(request: Request) -> Response:
    """GET /v1/billing/balance."""
    user_id = query(request, "userId", "user_id")

    def run(session: Session, actor: User, _now: datetime) -> BalanceReply:
        owner = users.resolve_target(session, actor, user_id)
        return BalanceReply(balance=money(billing_ledger.balance_nanos(session, owner.id)))

    return reply(await as_user(request, run))


async def list_transactions(request: Request) -> Response:
    """GET /v1/billing/transactions (cursor pages, newest first)."""
    user_id = query(request, "userId", "user_id")
    size = billing.page_size(query(request, "pageSize", "page_size"))
    token = query(request, "pageToken", "page_token")

    def run(session: Session, actor: User, _now: datetime) -> TransactionList:
        owner = users.resolve_target(session, actor, user_id)
        rows, next_token = billing.list_transactions(session, owner, size, token)
        return TransactionList(
            transactions=[billing.transaction_model(row) for row in rows],
            next_page_token=next_token,
        )

    return reply(await as_user(request, run))


async def spending_summary(request: Request) -> Response:
    """GET /v1/billing/spending/summary."""
    user_id = query(request, "userId", "user_id")

    def run(session: Session, actor: User, now: datetime) -> SpendingSummary:
        owner = users.resolve_target(session, actor, user_id)
        return summary_of(session, owner.id, now)

    return reply(await as_user(request, run))


async def spending_history(request: Request) -> Response:
    """GET /v1/billing/spending/history (UTC days of the last 30 days that had spend)."""
    user_id = query(request, "userId", "user_id")

    def run(session: Session, actor: User, now: datetime) -> SpendingHistory:
        owner = users.resolve_target(session, actor, user_id)
        days = billing_usage.spending_history(session, owner.id, now)
        return SpendingHistory(
            buckets=[
                SpendingBucket(bucket_start=day, amount=money(spend), cost_saving=money(saving))
                for day, spend, saving in days
            ]
        )

    return reply(await as_user(request, run))


def _time(request: Request, camel: str, snake: str) -> datetime | None:
    raw = query(request, camel, snake)
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise invalid_argument(f"{camel} must be an RFC 3339 time, not {raw!r}") from None
    if moment.tzinfo is None:
        raise invalid_argument(f"{camel} must be an RFC 3339 time with a UTC offset")
    return moment


def _bucket(raw: str | None) -> UsageBucket:
    if raw is None or not raw.strip():
        return UsageBucket.DAY
    try:
        return UsageBucket(raw.strip().upper())
    except ValueError:
        names = ", ".join(bucket.value for bucket in UsageBucket)
        raise invalid_argument(f"bucket must be one of {names}, not {raw!r}") from None


async def usage_history(request: Request) -> Response:
    """GET /v1/billing/serverless-usage/history (default: the last 30 days by day)."""
    user_id = query(request, "userId", "user_id")
    bucket = _bucket(query(request, "bucket"))
    start = _time(request, "startTime", "start_time")
    end = _time(request, "endTime", "end_time")

    def run(session: Session, actor: User, now: datetime) -> UsageHistory:
        owner = users.resolve_target(session, actor, user_id)
        until = end or now
        since = start or until - timedelta(days=DEFAULT_USAGE_DAYS)
        if since >= until:
            raise invalid_argument("startTime must be before endTime")
        totals = billing_usage.usage_history(session, owner.id, bucket, since, until)
        return UsageHistory(
            rows=[
                UsageRow(
                    bucket_start=row.bucket_start,
                    model_id=row.model,
                    input_tokens=row.input_tokens,
                    output_tokens=row.output_tokens,
                    cached_tokens=row.cached_tokens,
                    request_count=row.requests,
                )
                for row in totals
            ]
        )

    return reply(await as_user(request, run))


async def list_pricing(request: Request) -> Response:
    """GET /v1/billing/serverless-pricing (any signed-in user)."""
    model = query(request, "model")
    active_only = flag(query(request, "activeOnly", "active_only"))

    def run(session: Session, _actor: User, _now: datetime) -> PricingList:
        rows = billing_pricing.list_pricing(session, model=model, active_only=active_only)
        return PricingList(pricing=[billing_pricing.pricing_model(row) for row in rows])

    return reply(await as_user(request, run))


async def get_address(request: Request) -> Response:
    """GET /v1/billing/address."""
    user_id = query(request, "userId", "user_id")

    def run(session: Session, actor: User, _now: datetime) -> AddressReply:
        owner = users.resolve_target(session, actor, user_id)
        return AddressReply(address=billing.get_address(session, owner))

    return reply(await as_user(request, run))


async def update_address(request: Request) -> Response:
    """PUT /v1/billing/address."""
    body = parse(AddressUpdate, await json_object(request))
    user_id = body.user_id or query(request, "userId", "user_id")

    def run(session: Session, actor: User, now: datetime) -> Empty:
        owner = users.resolve_target(session, actor, user_id)
        billing.update_address(session, Actor.of_user(actor), owner, body.address, now=now)
        return Empty()

    return reply(await as_user(request, run))


routes = [
    Route("/v1/billing/balance", get_balance, methods=["GET"]),
    Route("/v1/billing/transactions", list_transactions, methods=["GET"]),
    Route("/v1/billing/spending/summary", spending_summary, methods=["GET"]),
    Route("/v1/billing/spending/history", spending_history, methods=["GET"]),
    Route("/v1/billing/serverless-usage/history", usage_history, methods=["GET"]),
    Route("/v1/billing/serverless-pricing", list_pricing, methods=["GET"]),
    Route("/v1/billing/address", get_address, methods=["GET"]),
    Route("/v1/billing/address", update_address, methods=["PUT"]),
]
