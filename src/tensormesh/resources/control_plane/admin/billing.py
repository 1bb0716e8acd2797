"""`control_plane.admin.billing`: balances of any user (and granting credit), spending summaries,
and the serverless price list (API.md §2 "Admin"). Admins only.

Amounts are Money, Decimal, int or a decimal string ("12.50", "12.5 USD"), never a float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from typing_extensions import Unpack

from tensormesh._endpoints import Endpoint
from tensormesh._exceptions import TensormeshError
from tensormesh._options import RequestOptions
from tensormesh.resources.control_plane._base import (
    AsyncControlPlaneResource,
    ControlPlaneResource,
)
from tensormesh.resources.control_plane._wire import body_params, query_params
from tensormesh.resources.control_plane.billing import cp_endpoint
from tensormesh.types.billing import (
    AddBalanceRequest,
    AdminBalancesRequest,
    AdminSpendingRequest,
    BalanceReply,
    PricingList,
    PricingListParams,
    PricingReply,
    PricingRequest,
    ServerlessPricing,
    UserBalances,
    UserSpendingSummaries,
)
from tensormesh.types.control_plane import Empty
from tensormesh.types.money import AmountLike, Money

__all__ = [
    "AdminBalances",
    "AdminBilling",
    "AdminPricing",
    "AdminServerlessPricing",
    "AdminSpending",
    "AsyncAdminBalances",
    "AsyncAdminBilling",
    "AsyncAdminPricing",
    "AsyncAdminServerlessPricing",
    "AsyncAdminSpending",
]

_PRICING_PATH = "/v1/admin/billing/serverless-pricing"


GET_BALANCES: Endpoint[UserBalances, None] = cp_endpoint(
    "POST", "/v1/admin/billing/balances", UserBalances
)
ADD_BALANCE: Endpoint[BalanceReply, None] = cp_endpoint(
    "POST", "/v1/admin/billing/balances:add", BalanceReply
)
SPENDING_SUMMARIES: Endpoint[UserSpendingSummaries, None] = cp_endpoint(
    "POST", "/v1/admin/billing/spending/summary", UserSpendingSummaries
)
LIST_PRICING: Endpoint[PricingList, None] = cp_endpoint("GET", _PRICING_PATH, PricingList)
CREATE_PRICING: Endpoint[PricingReply, None] = cp_endpoint("POST", _PRICING_PATH, PricingReply)
UPDATE_PRICING: Endpoint[PricingReply, None] = cp_endpoint("PUT", _PRICING_PATH, PricingReply)
DELETE_PRICING: Endpoint[Empty, None] = cp_endpoint("DELETE", _PRICING_PATH, Empty)

PricingLike = ServerlessPricing | Mapping[str, Any]


def _ids(values: Sequence[str] | str) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def balances_body(target_user_ids: Sequence[str] | str, options: RequestOptions) -> dict[str, Any]:
    """Body of POST /v1/admin/billing/balances."""
    return body_params({"target_user_ids": _ids(target_user_ids), **options}, AdminBalancesRequest)


def spending_body(target_user_ids: Sequence[str] | str, options: RequestOptions) -> dict[str, Any]:
    """Body of POST /v1/admin/billing/spending/summary."""
    return body_params({"target_user_ids": _ids(target_user_ids), **options}, AdminSpendingRequest)


def add_balance_body(
    target_user_id: str, amount: AmountLike, options: RequestOptions
) -> dict[str, Any]:
    """Body of POST /v1/admin/billing/balances:add (the amount checked before anything is sent)."""
    try:
        money = Money.coerce(amount)
    except ValueError as exc:
        raise TensormeshError(f"invalid amount: {exc}") from None
    fields = {"target_user_id": target_user_id, "amount": money}
    return body_params({**fields, **options}, AddBalanceRequest)


def pricing_body(pricing: PricingLike, options: RequestOptions) -> dict[str, Any]:
    """Body `{pricing}` of POST/PUT /v1/admin/billing/serverless-pricing."""
    return body_params({"pricing": pricing, **options}, PricingRequest)


class AdminBalances(ControlPlaneResource):
    """Balances of any user; granting credit."""

    def get(
        self, *, target_user_ids: Sequence[str] | str, **options: Unpack[RequestOptions]
    ) -> UserBalances:
        """POST /v1/admin/billing/balances: `.balances` (`user_id`, `balance`)."""
        return self._fetch(GET_BALANCES, balances_body(target_user_ids, options))

    def add(
        self, *, target_user_id: str, amount: AmountLike, **options: Unpack[RequestOptions]
    ) -> BalanceReply:
        """POST /v1/admin/billing/balances:add: a CREDIT of `amount`; returns the new balance.
        Never retried automatically."""
        return self._fetch(ADD_BALANCE, add_balance_body(target_user_id, amount, options))


class AsyncAdminBalances(AsyncControlPlaneResource):
    """Balances of any user; granting credit (async)."""

    async def get(
        self, *, target_user_ids: Sequence[str] | str, **options: Unpack[RequestOptions]
    ) -> UserBalances:
        """POST /v1/admin/billing/balances: `.balances` (`user_id`, `balance`)."""
        return await self._fetch(GET_BALANCES, balances_body(target_user_ids, options))

    async def add(
        self, *, target_user_id: str, amount: AmountLike, **options: Unpack[RequestOptions]
    ) -> BalanceReply:
        """POST /v1/admin/billing/balances:add: a CREDIT of `amount`; returns the new balance."""
        return await self._fetch(ADD_BALANCE, add_balance_body(target_user_id, amount, options))


class AdminSpending(ControlPlaneResource):
    """Spending summaries of any users."""

    def summary(
        self, *, target_user_ids: Sequence[str] | str, **options: Unpack[RequestOptions]
    ) -> UserSpendingSummaries:
        """POST /v1/admin/billing/spending/summary: `.summaries` (24h, 7d, 30d per user)."""
        return self._fetch(SPENDING_SUMMARIES, spending_body(target_user_ids, options))


class AsyncAdminSpending(AsyncControlPlaneResource):
    """Spending summaries of any users (async)."""

    async def summary(
        self, *, target_user_ids: Sequence[str] | str, **options: Unpack[RequestOptions]
    ) -> UserSpendingSummaries:
        """POST /v1/admin/billing/spending/summary: `.summaries` (24h, 7d, 30d per user)."""
        return await self._fetch(SPENDING_SUMMARIES, spending_body(target_user_ids, options))


class AdminServerlessPricing(ControlPlaneResource):
    """The serverless price list (Money per 1,000,000 tokens), inactive prices included."""

    def list(self, **params: Unpack[PricingListParams]) -> PricingList:
        """GET /v1/admin/billing/serverless-pricing: `.pricing`."""
        return self._fetch(LIST_PRICING, query_params(params))

    def create(self, pricing: PricingLike, **options: Unpack[RequestOptions]) -> PricingReply:
        """POST /v1/admin/billing/serverless-pricing: add a model's prices; `.pricing`."""
        return self._fetch(CREATE_PRICING, pricing_body(pricing, options))

    def update(self, pricing: PricingLike, **options: Unpack[RequestOptions]) -> PricingReply:
        """PUT /v1/admin/billing/serverless-pricing: change the prices with `pricing.id`."""
        return self._fetch(UPDATE_PRICING, pricing_body(pricing, options))

    def delete(self, pricing_id: str, **options: Unpack[RequestOptions]) -> Empty:
        """DELETE /v1/admin/billing/serverless-pricing?id=: remove a price entry."""
        return self._fetch(DELETE_PRICING, {"id": pricing_id, **options})


class AsyncAdminServerlessPricing(AsyncControlPlaneResource):
    """The serverless price list (async)."""

    async def list(self, **params: Unpack[PricingListParams]) -> PricingList:
        """GET /v1/admin/billing/serverless-pricing: `.pricing`."""
        return await self._fetch(LIST_PRICING, query_params(params))

    async def create(self, pricing: PricingLike, **options: Unpack[RequestOptions]) -> PricingReply:
        """POST /v1/admin/billing/serverless-pricing: add a model's prices; `.pricing`."""
        return await self._fetch(CREATE_PRICING, pricing_body(pricing, options))

    async def update(self, pricing: PricingLike, **options: Unpack[RequestOptions]) -> PricingReply:
        """PUT /v1/admin/billing/serverless-pricing: change the prices with `pricing.id`."""
        return await self._fetch(UPDATE_PRICING, pricing_body(pricing, options))

    async def delete(self, pricing_id: str, **options: Unpack[RequestOptions]) -> Empty:
        """DELETE /v1/admin/billing/serverless-pricing?id=: remove a price entry."""
        return await self._fetch(DELETE_PRICING, {"id": pricing_id, **options})


class AdminPricing(ControlPlaneResource):
    """Prices: `pricing.serverless`."""

    @cached_property
    def serverless(self) -> AdminServerlessPricing:
        """The serverless price list."""
        return AdminServerlessPricing(self._transport)


class AsyncAdminPricing(AsyncControlPlaneResource):
    """Prices (async): `pricing.serverless`."""

    @cached_property
    def serverless(self) -> AsyncAdminServerlessPricing:
        """The serverless price list."""
        return AsyncAdminServerlessPricing(self._transport)


class AdminBilling(ControlPlaneResource):
    """Admin billing: `balances`, `spending`, `pricing.serverless`."""

    @cached_property
    def balances(self) -> AdminBalances:
        """Balances of any user; granting credit."""
        return AdminBalances(self._transport)

    @cached_property
    def spending(self) -> AdminSpending:
        """Spending summaries of any users."""
        return AdminSpending(self._transport)

    @cached_property
    def pricing(self) -> AdminPricing:
        """The serverless price list (`pricing.serverless`)."""
        return AdminPricing(self._transport)


class AsyncAdminBilling(AsyncControlPlaneResource):
    """Admin billing (async): the same names as `AdminBilling`."""

    @cached_property
    def balances(self) -> AsyncAdminBalances:
        """Balances of any user; granting credit."""
        return AsyncAdminBalances(self._transport)

    @cached_property
    def spending(self) -> AsyncAdminSpending:
        """Spending summaries of any users."""
        return AsyncAdminSpending(self._transport)

    @cached_property
    def pricing(self) -> AsyncAdminPricing:
        """The serverless price list (`pricing.serverless`)."""
        return AsyncAdminPricing(self._transport)
