"""What `tm cost` computes, with no I/O: per-model requests, tokens, spend and cache savings,
and spend per day, from serverless-usage rows and the price list.

Every row is priced with the SDK's one charge rule (`ServerlessPricing.charge`), so the numbers
are the ones the platform charges; sums are exact (Money in integer nanos, never float).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tensormesh.types import Money
    from tensormesh.types.billing import ServerlessPricing, UsageRow

__all__ = ["CostReport", "ModelCost", "build_report", "price_table", "time_slices"]


def time_slices(start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive pieces of at most `step` (the requests `tm cost` makes)."""
    slices = []
    cursor = start
    while cursor < end:
        following = min(cursor + step, end)
        slices.append((cursor, following))
        cursor = following
    return slices


def price_table(prices: Iterable[ServerlessPricing]) -> dict[str, ServerlessPricing]:
    """The price entry of each model: its active entry when it has several."""
    table: dict[str, ServerlessPricing] = {}
    for price in prices:
        current = table.get(price.model)
        if current is None or (price.is_active and not current.is_active):
            table[price.model] = price
    return table


@dataclass
class ModelCost:
    """The usage of one model over the report's range (spend None: the model has no price)."""

    model: str
    currency: str
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    spend: Money | None = None
    cache_savings: Money | None = None

    def add_usage(self, row: UsageRow) -> None:
        self.requests += row.request_count
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.cached_tokens += row.cached_tokens

    def add_money(self, spend: Money, savings: Money) -> None:
        self.spend = spend if self.spend is None else self.spend + spend
        self.cache_savings = savings if self.cache_savings is None else self.cache_savings + savings

    def to_data(self) -> dict[str, Any]:
        """JSON-ready numbers (Money as decimal strings)."""
        return {
            "model": self.model,
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "spend": None if self.spend is None else self.spend.format(),
            "cache_savings": None if self.cache_savings is None else self.cache_savings.format(),
        }


@dataclass
class CostReport:
    """Usage and spend per model and per day over [start, end)."""

    start: datetime
    end: datetime
    currency: str
    models: list[ModelCost]
    total: ModelCost
    daily: list[tuple[date, Money]] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        """The report as data (`tm cost --output json`): the same numbers as the table."""
        from tensormesh.types.control_plane import format_timestamp

        return {
            "start": format_timestamp(self.start),
            "end": format_timestamp(self.end),
            "currency": self.currency,
            "models": [item.to_data() for item in self.models],
            "total": {key: value for key, value in self.total.to_data().items() if key != "model"},
            "daily": [
                {"date": day.isoformat(), "spend": spend.format()} for day, spend in self.daily
            ],
            "unpriced_models": self.unpriced,
        }


def _currency(prices: dict[str, ServerlessPricing]) -> str:
    currencies = {
        money.currency_code
        for price in prices.values()
        for money in (price.input_token_price, price.output_token_price, price.cached_token_price)
        if money is not None
    }
    if len(currencies) > 1:
        raise ValueError(f"the prices use several currencies ({', '.join(sorted(currencies))})")
    return currencies.pop() if currencies else "USD"


def _days(start: datetime, end: datetime) -> list[date]:
    first = start.astimezone(timezone.utc).date()
    last = (end.astimezone(timezone.utc) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def build_report(
    rows: Sequence[UsageRow],
    prices: Iterable[ServerlessPricing],
    start: datetime,
    end: datetime,
) -> CostReport:
    """The report of usage `rows` (any buckets, any order) at `prices`.

    A row's spend and saving come from the one charge rule; a model without a price is listed
    with its usage, no spend, and named in `unpriced`. ValueError if prices mix currencies.
    """
    from tensormesh.types import Money

    table = price_table(prices)
    currency = _currency(table)
    zero = Money.zero(currency)
    per_model: dict[str, ModelCost] = {}
    per_day = dict.fromkeys(_days(start, end), zero)
    total = ModelCost("TOTAL", currency, spend=zero, cache_savings=zero)
    for row in rows:
        cost = per_model.setdefault(row.model_id, ModelCost(row.model_id, currency))
        cost.add_usage(row)
        total.add_usage(row)
        price = table.get(row.model_id)
        if price is None:
            continue
        charged = price.charge(
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cached_tokens=row.cached_tokens,
        )
        cost.add_money(charged.charge, charged.cost_saving)
        total.add_money(charged.charge, charged.cost_saving)
        if row.bucket_start is not None:
            day = row.bucket_start.astimezone(timezone.utc).date()
            per_day[day] = per_day.get(day, zero) + charged.charge
    models = sorted(
        per_model.values(),
        key=lambda item: (-(item.spend.to_nanos() if item.spend else -1), item.model),
    )
    return CostReport(
        start=start,
        end=end,
        currency=currency,
        models=models,
        total=total,
        daily=sorted(per_day.items()),
        unpriced=sorted(name for name, item in per_model.items() if item.spend is None),
    )
