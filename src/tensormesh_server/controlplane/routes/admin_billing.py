"""`/v1/admin/billing/*` (admins only): balances of users, credit, spending summaries, and the
serverless price list (create, update, delete)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.billing import (
    AddBalanceRequest,
    AdminBalancesRequest,
    AdminSpendingRequest,
    BalanceReply,
    PricingList,
    PricingReply,
    PricingRequest,
    UserBalance,
    UserBalances,
    UserSpendingSummaries,
    UserSpendingSummary,
)
from tensormesh.types.control_plane import Empty
from tensormesh_server.controlplane.errors import invalid_argument, permission_denied
from tensormesh_server.controlplane.services import billing, billing_ledger, billing_pricing, users
from tensormesh_server.controlplane.services.activities import Actor
from tensormesh_server.controlplane.services.billing_ledger import money
from tensormesh_server.store.models import User

from .billing import query, summary_of
from .common import as_user, context, flag, json_object, parse, reply

T = TypeVar("T")
MAX_TARGETS = 1000
PRICING = "/v1/admin/billing/serverless-pricing"


async def as_admin(request: Request, work: Callable[[Session, User, datetime], T]) -> T:
    """`as_user`, refused with 403 unless the caller is an admin."""

    def run(session: Session, actor: User, now: datetime) -> T:
        if not users.is_admin(actor):
            raise permission_denied("this route is for admins (USER_ROLE_ADMIN)")
        return work(session, actor, now)

    return await as_user(request, run)


def _targets(session: Session, ids: list[str]) -> list[User]:
    if not ids:
        raise invalid_argument("targetUserIds must name at least one user")
    if len(ids) > MAX_TARGETS:
        raise invalid_argument(f"targetUserIds may name at most {MAX_TARGETS} users")
    return [users.get_user(session, user_id) for user_id in dict.fromkeys(ids)]


async def balances(request: Request) -> Response:
    """POST /v1/admin/billing/balances."""
    body = parse(AdminBalancesRequest, await json_object(request, admin=True))

    def run(session: Session, _actor: User, _now: datetime) -> UserBalances:
        targets = _targets(session, body.target_user_ids)
        found = billing_ledger.balances_nanos(session, [user.id for user in targets])
        return UserBalances(
            balances=[
                UserBalance(user_id=user.id, balance=money(found.get(user.id, 0)))
                for user in targets
            ]
        )

    return reply(await as_admin(request, run))


async def add_balance(request: Request) -> Response:
    """POST /v1/admin/billing/balances:add: a CREDIT transaction; the reply is the balance."""
    body = parse(AddBalanceRequest, await json_object(request, admin=True))

    def run(session: Session, actor: User, now: datetime) -> BalanceReply:
        target = users.get_user(session, body.target_user_id)
        billing.add_credit(session, Actor.of_user(actor), target, body.amount, now=now)
        return BalanceReply(balance=money(billing_ledger.balance_nanos(session, target.id)))

    return reply(await as_admin(request, run))


async def spending_summaries(request: Request) -> Response:
    """POST /v1/admin/billing/spending/summary."""
    body = parse(AdminSpendingRequest, await json_object(request, admin=True))

    def run(session: Session, _actor: User, now: datetime) -> UserSpendingSummaries:
        summaries = []
        for user in _targets(session, body.target_user_ids):
            spend = summary_of(session, user.id, now)
            summaries.append(
                UserSpendingSummary(
                    user_id=user.id,
                    spend24h=spend.spend_24h,
                    spend7d=spend.spend_7d,
                    spend30d=spend.spend_30d,
                )
            )
        return UserSpendingSummaries(summaries=summaries)

    return reply(await as_admin(request, run))


async def list_pricing(request: Request) -> Response:
    """GET /v1/admin/billing/serverless-pricing."""
    model = query(request, "model")
    active_only = flag(query(request, "activeOnly", "active_only"))

    def run(session: Session, _actor: User, _now: datetime) -> PricingList:
        rows = billing_pricing.list_pricing(session, model=model, active_only=active_only)
        return PricingList(pricing=[billing_pricing.pricing_model(row) for row in rows])

    return reply(await as_admin(request, run))


async def create_pricing(request: Request) -> Response:
    """POST /v1/admin/billing/serverless-pricing."""
    body = parse(PricingRequest, await json_object(request, admin=True))
    static_models = context(request).static_models

    def run(session: Session, actor: User, now: datetime) -> PricingReply:
        row = billing_pricing.create_pricing(
            session, Actor.of_user(actor), body.pricing, now=now, static_models=static_models
        )
        return PricingReply(pricing=billing_pricing.pricing_model(row))

    return reply(await as_admin(request, run))


async def update_pricing(request: Request) -> Response:
    """PUT /v1/admin/billing/serverless-pricing."""
    body = parse(PricingRequest, await json_object(request, admin=True))
    static_models = context(request).static_models

    def run(session: Session, actor: User, now: datetime) -> PricingReply:
        row = billing_pricing.update_pricing(
            session, Actor.of_user(actor), body.pricing, now=now, static_models=static_models
        )
        return PricingReply(pricing=billing_pricing.pricing_model(row))

    return reply(await as_admin(request, run))


async def delete_pricing(request: Request) -> Response:
    """DELETE /v1/admin/billing/serverless-pricing?id=..."""
    pricing_id = (query(request, "id") or "").strip()

    def run(session: Session, actor: User, now: datetime) -> Empty:
        billing_pricing.delete_pricing(session, Actor.of_user(actor), pricing_id, now=now)
        return Empty()

    return reply(await as_admin(request, run))


routes = [
    Route("/v1/admin/billing/balances", balances, methods=["POST"]),
    Route("/v1/admin/billing/balances:add", add_balance, methods=["POST"]),
    Route("/v1/admin/billing/spending/summary", spending_summaries, methods=["POST"]),
    Route(PRICING, list_pricing, methods=["GET"]),
    Route(PRICING, create_pricing, methods=["POST"]),
    Route(PRICING, update_pricing, methods=["PUT"]),
    Route(PRICING, delete_pricing, methods=["DELETE"]),
]
