"""The ledger: every money movement is one `billing_transactions` row, and the user's
`billing_balances` row moves by the same amount in the same database transaction.

Balances are changed only with `UPDATE ... SET balance_nanos = balance_nanos + :delta` (a row
lock on PostgreSQL, the single writer on SQLite), users in sorted order, so that concurrent
writers (several gateway workers, the Control Plane) never lose an update nor deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tensormesh.types.billing import TransactionType
from tensormesh.types.money import Money
from tensormesh_server.store.billing_models import BillingBalance, BillingTransaction
from tensormesh_server.store.models import new_id

BalanceReader = Callable[[list[str]], dict[str, int]]
"""Reads the balances (nanos) of some users; users without a balance row are left out."""

CURRENCY = "USD"
COMPLETED = "TRANSACTION_STATUS_COMPLETED"


@dataclass
class Entry:
    """A ledger row to post: `amount_nanos` is signed (charges are negative)."""

    user_id: str
    type: TransactionType
    amount_nanos: int
    description: str
    details: dict[str, Any] = field(default_factory=dict)
    cost_saving_nanos: int = 0
    id: str = field(default_factory=new_id)


def ensure_balances(session: Session, user_ids: Iterable[str], now: datetime) -> None:
    """Create the missing balance rows (at zero) without racing other writers."""
    rows = [
        {"user_id": user_id, "currency_code": CURRENCY, "balance_nanos": 0, "updated_at": now}
        for user_id in sorted(set(user_ids))
    ]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(BillingBalance).on_conflict_do_nothing(), rows)


def post(session: Session, entries: Iterable[Entry], now: datetime) -> list[BillingTransaction]:
    """Write `entries` and move each user's balance by their sum, in this transaction."""
    ordered = sorted(entries, key=lambda entry: entry.user_id)
    if not ordered:
        return []
    ensure_balances(session, (entry.user_id for entry in ordered), now)
    deltas: dict[str, int] = {}
    rows = []
    for entry in ordered:
        deltas[entry.user_id] = deltas.get(entry.user_id, 0) + entry.amount_nanos
        rows.append(
            BillingTransaction(
                id=entry.id,
                user_id=entry.user_id,
                type=entry.type.value,
                status=COMPLETED,
                currency_code=CURRENCY,
                amount_nanos=entry.amount_nanos,
                cost_saving_nanos=entry.cost_saving_nanos,
                description=entry.description,
                details=entry.details,
                created_at=now,
            )
        )
    for user_id, delta in deltas.items():
        session.execute(
            update(BillingBalance)
            .where(BillingBalance.user_id == user_id)
            .values(balance_nanos=BillingBalance.balance_nanos + delta, updated_at=now)
        )
    session.add_all(rows)
    session.flush()
    return rows


def balance_nanos(session: Session, user_id: str) -> int:
    """The user's balance in nanos (0 before any transaction)."""
    value = session.scalar(
        select(BillingBalance.balance_nanos).where(BillingBalance.user_id == user_id)
    )
    return int(value or 0)


def balances_nanos(session: Session, user_ids: Iterable[str]) -> dict[str, int]:
    """The balances of `user_ids` (users without a row are left out)."""
    wanted = sorted(set(user_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(BillingBalance.user_id, BillingBalance.balance_nanos).where(
                BillingBalance.user_id.in_(chunk)
            )
        )
        found.update({user_id: int(nanos) for user_id, nanos in rows})
    return found


def ledger_sum_nanos(session: Session, user_id: str) -> int:
    """The sum of the user's transactions (what the balance must equal)."""
    value = session.scalar(
        select(func.coalesce(func.sum(BillingTransaction.amount_nanos), 0)).where(
            BillingTransaction.user_id == user_id
        )
    )
    return int(value or 0)


def money(nanos: int) -> Money:
    """`nanos` as Money in the ledger's currency."""
    return Money.from_nanos(int(nanos), CURRENCY)
