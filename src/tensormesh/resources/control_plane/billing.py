"""`control_plane.billing`: balance, transactions (cursor pages), spending and usage history,
serverless prices, billing address (API.md §2 "Billing").

Every read takes `user_id=` (an admin acting for another user). Sync and async resources share
the endpoint declarations and the parameter building below; only the awaited call differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from typing import Any

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._exceptions import TensormeshError
from tensormesh._pagination import AsyncPager, CursorPages, SyncPager
from tensormesh._request import split_options
from tensormesh.types.billing import (
    AddressReply,
    AddressUpdate,
    AddressUpdateParams,
    BalanceReply,
    BillingAddress,
    BillingTransaction,
    PricingList,
    PricingListParams,
    SpendingHistory,
    SpendingSummary,
    TransactionList,
    TransactionListParams,
    UsageBucket,
    UsageHistory,
    UsageHistoryParams,
    UserIdParams,
)
from tensormesh.types.control_plane import Empty, format_timestamp

from ._base import AsyncControlPlaneResource, ControlPlaneResource
from ._wire import body_params, query_params

__all__ = [
    "Address",
    "AsyncAddress",
    "AsyncBalance",
    "AsyncBilling",
    "AsyncPricing",
    "AsyncServerlessPrices",
    "AsyncSpending",
    "AsyncTransactions",
    "Balance",
    "Billing",
    "Pricing",
    "ServerlessPrices",
    "Spending",
    "Transactions",
]


def cp_endpoint(method: str, path: str, response_type: type[Any]) -> Endpoint[Any, None]:
    """A Control Plane route that never streams."""
    return Endpoint(method, path, response_type, surface=CONTROL_PLANE)


GET_BALANCE: Endpoint[BalanceReply, None] = cp_endpoint("GET", "/v1/billing/balance", BalanceReply)
LIST_TRANSACTIONS: Endpoint[TransactionList, None] = cp_endpoint(
    "GET", "/v1/billing/transactions", TransactionList
)
SPENDING_SUMMARY: Endpoint[SpendingSummary, None] = cp_endpoint(
    "GET", "/v1/billing/spending/summary", SpendingSummary
)
SPENDING_HISTORY: Endpoint[SpendingHistory, None] = cp_endpoint(
    "GET", "/v1/billing/spending/history", SpendingHistory
)
USAGE_HISTORY: Endpoint[UsageHistory, None] = cp_endpoint(
    "GET", "/v1/billing/serverless-usage/history", UsageHistory
)
LIST_PRICES: Endpoint[PricingList, None] = cp_endpoint(
    "GET", "/v1/billing/serverless-pricing", PricingList
)
GET_ADDRESS: Endpoint[AddressReply, None] = cp_endpoint("GET", "/v1/billing/address", AddressReply)
UPDATE_ADDRESS: Endpoint[Empty, None] = cp_endpoint("PUT", "/v1/billing/address", Empty)

TRANSACTION_PAGES = CursorPages("transactions")


def usage_bucket(value: UsageBucket | str) -> str:
    """The wire name of a bucket: a UsageBucket, "USAGE_BUCKET_DAY", or just "day"."""
    if isinstance(value, UsageBucket):
        return value.value
    name = value.strip().upper()
    wire = name if name.startswith("USAGE_BUCKET_") else f"USAGE_BUCKET_{name}"
    try:
        return UsageBucket(wire).value
    except ValueError:
        raise TensormeshError(f"bucket={value!r} is not valid: use day, week or month") from None


def _time(value: datetime | str) -> str:
    return format_timestamp(value) if isinstance(value, datetime) else value


def usage_history_query(params: Mapping[str, Any]) -> dict[str, Any]:
    """The query of GET /v1/billing/serverless-usage/history (RFC 3339 times)."""
    converted = dict(params)
    for key in ("start_time", "end_time"):
        if converted.get(key) is not None:
            converted[key] = _time(converted[key])
    if converted.get("bucket") is not None:
        converted["bucket"] = usage_bucket(converted["bucket"])
    return query_params(converted)


def address_body(
    address: BillingAddress | Mapping[str, Any] | None, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Body of PUT /v1/billing/address: `address` with the keyword fields merged over it."""
    fields, options = split_options(params)
    user_id = fields.pop("user_id", None)
    base = address.to_dict() if isinstance(address, BillingAddress) else dict(address or {})
    merged = {**base, **{key: value for key, value in fields.items() if value is not None}}
    owner = {} if user_id is None else {"user_id": user_id}
    return body_params({**owner, "address": merged, **options}, AddressUpdate)


class Balance(ControlPlaneResource):
    """The account balance (credits minus charges)."""

    def get(self, **params: Unpack[UserIdParams]) -> BalanceReply:
        """GET /v1/billing/balance: `.balance` (Money)."""
        return self._fetch(GET_BALANCE, query_params(params))


class AsyncBalance(AsyncControlPlaneResource):
    """The account balance (async)."""

    async def get(self, **params: Unpack[UserIdParams]) -> BalanceReply:
        """GET /v1/billing/balance: `.balance` (Money)."""
        return await self._fetch(GET_BALANCE, query_params(params))


class Transactions(ControlPlaneResource):
    """The ledger: credits, usage charges and refunds, newest first."""

    def list(self, **params: Unpack[TransactionListParams]) -> TransactionList:
        """GET /v1/billing/transactions: one page (`.transactions`, `.next_page_token`)."""
        return self._fetch(LIST_TRANSACTIONS, query_params(params))

    def auto_paging_iter(
        self, **params: Unpack[TransactionListParams]
    ) -> SyncPager[TransactionList, BillingTransaction]:
        """Every transaction, fetching the pages lazily while you iterate."""
        return SyncPager(self.list, TRANSACTION_PAGES, params)


class AsyncTransactions(AsyncControlPlaneResource):
    """The ledger (async)."""

    async def list(self, **params: Unpack[TransactionListParams]) -> TransactionList:
        """GET /v1/billing/transactions: one page (`.transactions`, `.next_page_token`)."""
        return await self._fetch(LIST_TRANSACTIONS, query_params(params))

    def auto_paging_iter(
        self, **params: Unpack[TransactionListParams]
    ) -> AsyncPager[TransactionList, BillingTransaction]:
        """Every transaction (`async for`), fetching the pages lazily."""
        return AsyncPager(self.list, TRANSACTION_PAGES, params)


class Spending(ControlPlaneResource):
    """What was spent: totals, history, and serverless usage per model."""

    def summary(self, **params: Unpack[UserIdParams]) -> SpendingSummary:
        """GET /v1/billing/spending/summary: `.spend_24h`, `.spend_7d`, `.spend_30d`."""
        return self._fetch(SPENDING_SUMMARY, query_params(params))

    def history(self, **params: Unpack[UserIdParams]) -> SpendingHistory:
        """GET /v1/billing/spending/history: `.buckets` (amount and cost saving)."""
        return self._fetch(SPENDING_HISTORY, query_params(params))

    def usage_history(self, **params: Unpack[UsageHistoryParams]) -> UsageHistory:
        """GET /v1/billing/serverless-usage/history: `.rows` per bucket and model.

        `bucket`: day, week or month; `start_time` / `end_time`: datetime or RFC 3339 string.
        """
        return self._fetch(USAGE_HISTORY, usage_history_query(params))


class AsyncSpending(AsyncControlPlaneResource):
    """What was spent (async)."""

    async def summary(self, **params: Unpack[UserIdParams]) -> SpendingSummary:
        """GET /v1/billing/spending/summary: `.spend_24h`, `.spend_7d`, `.spend_30d`."""
        return await self._fetch(SPENDING_SUMMARY, query_params(params))

    async def history(self, **params: Unpack[UserIdParams]) -> SpendingHistory:
        """GET /v1/billing/spending/history: `.buckets` (amount and cost saving)."""
        return await self._fetch(SPENDING_HISTORY, query_params(params))

    async def usage_history(self, **params: Unpack[UsageHistoryParams]) -> UsageHistory:
        """GET /v1/billing/serverless-usage/history: `.rows` per bucket and model."""
        return await self._fetch(USAGE_HISTORY, usage_history_query(params))


class ServerlessPrices(ControlPlaneResource):
    """Serverless prices per model (Money per 1,000,000 tokens)."""

    def list(self, **params: Unpack[PricingListParams]) -> PricingList:
        """GET /v1/billing/serverless-pricing: `.pricing` (filter by `model`, `active_only`)."""
        return self._fetch(LIST_PRICES, query_params(params))


class AsyncServerlessPrices(AsyncControlPlaneResource):
    """Serverless prices per model (async)."""

    async def list(self, **params: Unpack[PricingListParams]) -> PricingList:
        """GET /v1/billing/serverless-pricing: `.pricing` (filter by `model`, `active_only`)."""
        return await self._fetch(LIST_PRICES, query_params(params))


class Pricing(ControlPlaneResource):
    """Prices: `pricing.serverless`."""

    @cached_property
    def serverless(self) -> ServerlessPrices:
        """Serverless prices per model."""
        return ServerlessPrices(self._transport)


class AsyncPricing(AsyncControlPlaneResource):
    """Prices (async): `pricing.serverless`."""

    @cached_property
    def serverless(self) -> AsyncServerlessPrices:
        """Serverless prices per model."""
        return AsyncServerlessPrices(self._transport)


class Address(ControlPlaneResource):
    """The billing address."""

    def get(self, **params: Unpack[UserIdParams]) -> AddressReply:
        """GET /v1/billing/address: `.address`."""
        return self._fetch(GET_ADDRESS, query_params(params))

    def update(
        self,
        address: BillingAddress | Mapping[str, Any] | None = None,
        **params: Unpack[AddressUpdateParams],
    ) -> Empty:
        """PUT /v1/billing/address: `address` (model or mapping) with the keyword fields
        (`line1`, `city`, `postal_code`, ...) merged over it."""
        return self._fetch(UPDATE_ADDRESS, address_body(address, params))


class AsyncAddress(AsyncControlPlaneResource):
    """The billing address (async)."""

    async def get(self, **params: Unpack[UserIdParams]) -> AddressReply:
        """GET /v1/billing/address: `.address`."""
        return await self._fetch(GET_ADDRESS, query_params(params))

    async def update(
        self,
        address: BillingAddress | Mapping[str, Any] | None = None,
        **params: Unpack[AddressUpdateParams],
    ) -> Empty:
        """PUT /v1/billing/address: `address` with the keyword fields merged over it."""
        return await self._fetch(UPDATE_ADDRESS, address_body(address, params))


class Billing(ControlPlaneResource):
    """Billing: `balance`, `transactions`, `spending`, `pricing.serverless`, `address`."""

    @cached_property
    def balance(self) -> Balance:
        """The account balance."""
        return Balance(self._transport)

    @cached_property
    def transactions(self) -> Transactions:
        """The ledger (cursor pages; `auto_paging_iter()`)."""
        return Transactions(self._transport)

    @cached_property
    def spending(self) -> Spending:
        """Spending summary and history, serverless usage history."""
        return Spending(self._transport)

    @cached_property
    def pricing(self) -> Pricing:
        """Prices (`pricing.serverless.list()`)."""
        return Pricing(self._transport)

    @cached_property
    def address(self) -> Address:
        """The billing address."""
        return Address(self._transport)


class AsyncBilling(AsyncControlPlaneResource):
    """Billing (async): the same names as `Billing`."""

    @cached_property
    def balance(self) -> AsyncBalance:
        """The account balance."""
        return AsyncBalance(self._transport)

    @cached_property
    def transactions(self) -> AsyncTransactions:
        """The ledger (cursor pages; `auto_paging_iter()`)."""
        return AsyncTransactions(self._transport)

    @cached_property
    def spending(self) -> AsyncSpending:
        """Spending summary and history, serverless usage history."""
        return AsyncSpending(self._transport)

    @cached_property
    def pricing(self) -> AsyncPricing:
        """Prices (`pricing.serverless.list()`)."""
        return AsyncPricing(self._transport)

    @cached_property
    def address(self) -> AsyncAddress:
        """The billing address."""
        return AsyncAddress(self._transport)
