"""Billing wire shapes of the Control Plane (API.md §2 "Billing" and the admin billing routes).

Money is `tensormesh.types.money.Money`; token and event counters are ints in Python and
decimal strings on the wire (protobuf int64). `ServerlessPricing.charge(...)` applies the one
charge rule (`usage_charge`) with a model's prices.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from pydantic import Field, PlainSerializer

from tensormesh._options import RequestOptions

from .control_plane._base import ControlPlaneModel, Timestamp
from .money import Money, UsageCharge, usage_charge

__all__ = [
    "AddBalanceRequest",
    "AddressReply",
    "AddressUpdate",
    "AddressUpdateParams",
    "AdminBalancesRequest",
    "AdminSpendingRequest",
    "BalanceReply",
    "BillingAddress",
    "BillingTransaction",
    "Count",
    "ModelCharge",
    "Money",
    "PricingList",
    "PricingListParams",
    "PricingReply",
    "PricingRequest",
    "ServerlessPricing",
    "SpendingBucket",
    "SpendingHistory",
    "SpendingSummary",
    "TransactionDetails",
    "TransactionList",
    "TransactionListParams",
    "TransactionType",
    "UsageBucket",
    "UsageCharge",
    "UsageHistory",
    "UsageHistoryParams",
    "UsageRow",
    "UserBalance",
    "UserBalances",
    "UserIdParams",
    "UserSpendingSummaries",
    "UserSpendingSummary",
    "usage_charge",
]

Count = Annotated[int, PlainSerializer(str, return_type=str, when_used="json")]
"""A 64-bit counter: an int in Python, a decimal string on the wire (ints accepted too)."""


class TransactionType(str, enum.Enum):
    """What a ledger transaction is."""

    CREDIT = "TRANSACTION_TYPE_CREDIT"
    CHARGE = "TRANSACTION_TYPE_CHARGE"
    REFUND = "TRANSACTION_TYPE_REFUND"

    def __str__(self) -> str:
        return self.value


class UsageBucket(str, enum.Enum):
    """The width of a serverless-usage history bucket."""

    DAY = "USAGE_BUCKET_DAY"
    WEEK = "USAGE_BUCKET_WEEK"
    MONTH = "USAGE_BUCKET_MONTH"

    def __str__(self) -> str:
        return self.value


TransactionKind = Annotated["TransactionType | str", Field(union_mode="left_to_right")]
"""A transaction type: a `TransactionType` when known, else the string as received."""


class BalanceReply(ControlPlaneModel):
    """`{balance}`: GET /v1/billing/balance and POST /v1/admin/billing/balances:add."""

    balance: Money = Field(default_factory=Money)


class ModelCharge(ControlPlaneModel):
    """The usage of one model within a CHARGE transaction."""

    name: str | None = None
    event_count: Count = 0
    input_tokens: Count = 0
    output_tokens: Count = 0
    cached_tokens: Count = 0
    total_amount: Money = Field(default_factory=Money)


class TransactionDetails(ControlPlaneModel):
    """`{models{<model>: ModelCharge}}` of a CHARGE transaction."""

    models: dict[str, ModelCharge] = Field(default_factory=dict)


class BillingTransaction(ControlPlaneModel):
    """One ledger entry: a credit, a usage charge (with per-model details) or a refund."""

    transaction_id: str = ""
    created_at: Timestamp | None = None
    amount: Money = Field(default_factory=Money)
    description: str | None = None
    status: str | None = None
    type: TransactionKind | None = None
    details: TransactionDetails | None = None


class TransactionList(ControlPlaneModel):
    """`{transactions[], nextPageToken}` (an empty token: this is the last page)."""

    transactions: list[BillingTransaction] = Field(default_factory=list)
    next_page_token: str = ""


class SpendingSummary(ControlPlaneModel):
    """`{spend24h, spend7d, spend30d}`: what was spent over the last day, week and 30 days."""

    spend_24h: Money = Field(default_factory=Money, alias="spend24h")
    spend_7d: Money = Field(default_factory=Money, alias="spend7d")
    spend_30d: Money = Field(default_factory=Money, alias="spend30d")


class SpendingBucket(ControlPlaneModel):
    """Spend (and what the cache saved) in one period starting at `bucket_start`."""

    bucket_start: Timestamp | None = None
    amount: Money = Field(default_factory=Money)
    cost_saving: Money = Field(default_factory=Money)


class SpendingHistory(ControlPlaneModel):
    """`{buckets[]}`: GET /v1/billing/spending/history."""

    buckets: list[SpendingBucket] = Field(default_factory=list)


class UsageRow(ControlPlaneModel):
    """Serverless usage of one model in one bucket (`input_tokens` includes `cached_tokens`)."""

    bucket_start: Timestamp | None = None
    model_id: str = ""
    input_tokens: Count = 0
    output_tokens: Count = 0
    cached_tokens: Count = 0
    request_count: Count = 0


class UsageHistory(ControlPlaneModel):
    """`{rows[]}`: GET /v1/billing/serverless-usage/history."""

    rows: list[UsageRow] = Field(default_factory=list)


class ServerlessPricing(ControlPlaneModel):
    """The prices of one model, Money per 1,000,000 tokens (a missing cached price: the input
    price; a missing price: zero)."""

    id: str | None = None
    name: str | None = None
    model: str = ""
    input_token_price: Money | None = None
    output_token_price: Money | None = None
    cached_token_price: Money | None = None
    is_active: bool | None = None

    def charge(self, *, input_tokens: int, output_tokens: int, cached_tokens: int) -> UsageCharge:
        """What this usage costs at these prices (`usage_charge`, the one rule)."""
        input_price = self.input_token_price or Money.zero(self._currency())
        return usage_charge(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached_tokens,
            input_price=input_price,
            output_price=self.output_token_price or Money.zero(input_price.currency_code),
            cached_price=self.cached_token_price,
        )

    def _currency(self) -> str:
        for price in (self.output_token_price, self.cached_token_price):
            if price is not None:
                return price.currency_code
        return "USD"


class PricingList(ControlPlaneModel):
    """`{pricing[]}`: the public and the admin pricing lists."""

    pricing: list[ServerlessPricing] = Field(default_factory=list)


class PricingReply(ControlPlaneModel):
    """`{pricing}`: the reply to an admin create or update."""

    pricing: ServerlessPricing


class PricingRequest(ControlPlaneModel):
    """Body of POST/PUT /v1/admin/billing/serverless-pricing."""

    pricing: ServerlessPricing


class BillingAddress(ControlPlaneModel):
    """A billing address."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    company: str | None = None
    phone: str | None = None
    name: str | None = None


class AddressReply(ControlPlaneModel):
    """`{address}`: GET /v1/billing/address (an address never set reads as empty)."""

    address: BillingAddress = Field(default_factory=BillingAddress)


class AddressUpdate(ControlPlaneModel):
    """Body of PUT /v1/billing/address."""

    user_id: str | None = None
    address: BillingAddress


class UserBalance(ControlPlaneModel):
    """One user's balance in an admin reply."""

    user_id: str = ""
    balance: Money = Field(default_factory=Money)


class UserBalances(ControlPlaneModel):
    """`{balances[]}`: POST /v1/admin/billing/balances."""

    balances: list[UserBalance] = Field(default_factory=list)


class UserSpendingSummary(SpendingSummary):
    """One user's spending summary in an admin reply."""

    user_id: str = ""


class UserSpendingSummaries(ControlPlaneModel):
    """`{summaries[]}`: POST /v1/admin/billing/spending/summary."""

    summaries: list[UserSpendingSummary] = Field(default_factory=list)


class AdminBalancesRequest(ControlPlaneModel):
    """Body of POST /v1/admin/billing/balances."""

    target_user_ids: list[str]


class AdminSpendingRequest(ControlPlaneModel):
    """Body of POST /v1/admin/billing/spending/summary."""

    target_user_ids: list[str]


class AddBalanceRequest(ControlPlaneModel):
    """Body of POST /v1/admin/billing/balances:add."""

    target_user_id: str
    amount: Money


class UserIdParams(RequestOptions, total=False):
    """Keyword arguments of the billing reads: `user_id` (admins acting for another user)."""

    user_id: str | None


class TransactionListParams(RequestOptions, total=False):
    """Keyword arguments of `billing.transactions.list`."""

    page_size: int | None
    page_token: str | None
    user_id: str | None


class UsageHistoryParams(RequestOptions, total=False):
    """Keyword arguments of `billing.spending.usage_history` (times: datetime or RFC 3339)."""

    bucket: UsageBucket | str | None
    start_time: datetime | str | None
    end_time: datetime | str | None
    user_id: str | None


class PricingListParams(RequestOptions, total=False):
    """Keyword arguments of the pricing lists."""

    model: str | None
    active_only: bool | None


class AddressUpdateParams(RequestOptions, total=False):
    """Keyword arguments of `billing.address.update` (fields merged over `address`)."""

    user_id: str | None
    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None
    company: str | None
    phone: str | None
    name: str | None
