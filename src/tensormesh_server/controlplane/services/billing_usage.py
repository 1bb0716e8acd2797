"""Metered usage into money: a batch of request records is written with its charges, and each
user's charges become one CHARGE transaction (per-model details) in the same database
transaction. Also the read side: usage and spending over time.

Each request is charged with `usage_charge` (the SDK's one rule) at its model's active price,
so the sum of the records' charges equals the sum of the CHARGE transactions to the nano.
Models without a price are metered and free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tensormesh.types.billing import ModelCharge, TransactionType, UsageBucket
from tensormesh_server.metering.record import UsageRecord
from tensormesh_server.store.billing_models import (
    BillingTransaction,
    RequestRecord,
    ServerlessPrice,
)

from . import billing_ledger, billing_pricing
from .billing_ledger import Entry, money


@dataclass
class _ModelTotals:
    events: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    charge_nanos: int = 0

    def add(self, record: UsageRecord, charge_nanos: int) -> None:
        self.events += 1
        self.input_tokens += record.prompt_tokens
        self.output_tokens += record.completion_tokens
        self.cached_tokens += record.cached_tokens
        self.charge_nanos += charge_nanos


@dataclass
class _UserCharge:
    entry: Entry
    models: dict[str, _ModelTotals] = field(default_factory=dict)


def _charge(price: ServerlessPrice, record: UsageRecord) -> tuple[int, int]:
    """(charge, cost saving) of one record in nanos, by the SDK's rule."""
    cached = min(record.cached_tokens, record.prompt_tokens)
    result = billing_pricing.pricing_model(price).charge(
        input_tokens=record.prompt_tokens,
        output_tokens=record.completion_tokens,
        cached_tokens=cached,
    )
    return result.charge.to_nanos(), result.cost_saving.to_nanos()


def already_written(session: Session, records: Sequence[UsageRecord]) -> set[str]:
    """The ids of `records` that are in the database already (a batch retried after a
    failure that happened after its commit)."""
    ids = [record.id for record in records]
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(session.scalars(select(RequestRecord.id).where(RequestRecord.id.in_(chunk))))
    return found


def write_usage(
    session: Session,
    records: Sequence[UsageRecord],
    prices: dict[str, ServerlessPrice],
    now: datetime,
) -> list[BillingTransaction]:
    """Insert `records` with their charges and post one CHARGE per user (this transaction)."""
    by_user: dict[str, _UserCharge] = {}
    rows = []
    for record in records:
        price = prices.get(record.model)
        charge = saving = 0
        transaction_id: str | None = None
        if price is not None and record.user_id is not None and record.has_tokens:
            charge, saving = _charge(price, record)
            user = by_user.get(record.user_id)
            if user is None:
                entry = Entry(record.user_id, TransactionType.CHARGE, 0, "")
                user = by_user[record.user_id] = _UserCharge(entry)
            user.entry.amount_nanos -= charge
            user.entry.cost_saving_nanos += saving
            user.models.setdefault(record.model, _ModelTotals()).add(record, charge)
            transaction_id = user.entry.id
        rows.append(
            {
                "id": record.id,
                "request_id": record.request_id,
                "key_id": record.key_id,
                "user_id": record.user_id,
                "model": record.model,
                "endpoint": record.endpoint,
                "stream": record.stream,
                "abandoned": record.abandoned,
                "status_code": record.status_code,
                "prompt_tokens": record.prompt_tokens,
                "completion_tokens": record.completion_tokens,
                "cached_tokens": record.cached_tokens,
                "latency_ms": record.latency_ms,
                "ttft_ms": record.ttft_ms,
                "started_at": record.started_at,
                "finished_at": record.finished_at,
                "currency_code": billing_ledger.CURRENCY,
                "charge_nanos": charge,
                "cost_saving_nanos": saving,
                "pricing_id": price.id if price is not None else None,
                "transaction_id": transaction_id,
            }
        )
    if rows:
        session.execute(insert(RequestRecord), rows)
    entries = []
    for user in by_user.values():
        events = sum(totals.events for totals in user.models.values())
        user.entry.description = f"Serverless usage: {events} request(s)"
        user.entry.details = {
            "models": {
                model: ModelCharge(
                    name=model,
                    event_count=totals.events,
                    input_tokens=totals.input_tokens,
                    output_tokens=totals.output_tokens,
                    cached_tokens=totals.cached_tokens,
                    total_amount=money(totals.charge_nanos),
                ).to_wire()
                for model, totals in sorted(user.models.items())
            }
        }
        entries.append(user.entry)
    return billing_ledger.post(session, entries, now)


# -- the read side ---------------------------------------------------------------------------

SPEND_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
HISTORY_DAYS = 30


def spend_since(session: Session, user_id: str, since: datetime) -> int:
    """What the user's CHARGE transactions since `since` add up to (nanos, >= 0)."""
    value = session.scalar(
        select(func.coalesce(func.sum(BillingTransaction.amount_nanos), 0)).where(
            BillingTransaction.user_id == user_id,
            BillingTransaction.type == TransactionType.CHARGE.value,
            BillingTransaction.created_at >= since,
        )
    )
    return -int(value or 0)


def spending_summary(session: Session, user_id: str, now: datetime) -> dict[str, int]:
    """Spend over the last 24 hours, 7 days and 30 days (nanos)."""
    return {
        name: spend_since(session, user_id, now - width) for name, width in SPEND_WINDOWS.items()
    }


def bucket_start(moment: datetime, bucket: UsageBucket) -> datetime:
    """The start (UTC midnight) of the day, ISO week (Monday) or month holding `moment`."""
    day = moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket is UsageBucket.WEEK:
        return day - timedelta(days=day.weekday())
    if bucket is UsageBucket.MONTH:
        return day.replace(day=1)
    return day


def spending_history(
    session: Session, user_id: str, now: datetime, days: int = HISTORY_DAYS
) -> list[tuple[datetime, int, int]]:
    """(day, spend, cost saving) in nanos for each UTC day of the last `days` days with spend,
    oldest first."""
    since = bucket_start(now, UsageBucket.DAY) - timedelta(days=days - 1)
    rows = session.execute(
        select(
            BillingTransaction.created_at,
            BillingTransaction.amount_nanos,
            BillingTransaction.cost_saving_nanos,
        ).where(
            BillingTransaction.user_id == user_id,
            BillingTransaction.type == TransactionType.CHARGE.value,
            BillingTransaction.created_at >= since,
        )
    )
    buckets: dict[datetime, list[int]] = {}
    for created_at, amount, saving in rows:
        totals = buckets.setdefault(bucket_start(created_at, UsageBucket.DAY), [0, 0])
        totals[0] -= int(amount)
        totals[1] += int(saving)
    return [(day, spend, saving) for day, (spend, saving) in sorted(buckets.items())]


@dataclass
class UsageTotals:
    """Tokens and requests of one model in one bucket."""

    bucket_start: datetime
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    requests: int = 0


def usage_history(
    session: Session, user_id: str, bucket: UsageBucket, start: datetime, end: datetime
) -> list[UsageTotals]:
    """The user's metered requests in [start, end) per bucket and model, oldest first."""
    rows = session.execute(
        select(
            RequestRecord.finished_at,
            RequestRecord.model,
            RequestRecord.prompt_tokens,
            RequestRecord.completion_tokens,
            RequestRecord.cached_tokens,
        ).where(
            RequestRecord.user_id == user_id,
            RequestRecord.finished_at >= start,
            RequestRecord.finished_at < end,
        )
    )
    totals: dict[tuple[datetime, str], UsageTotals] = {}
    for finished_at, model, prompt, completion, cached in rows:
        first = bucket_start(finished_at, bucket)
        row = totals.get((first, model))
        if row is None:
            row = totals[(first, model)] = UsageTotals(first, model)
        row.input_tokens += int(prompt)
        row.output_tokens += int(completion)
        row.cached_tokens += int(cached)
        row.requests += 1
    return [totals[key] for key in sorted(totals)]
