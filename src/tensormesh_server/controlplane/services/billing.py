"""Billing rules behind the routes: balances, credits, transactions (cursor pages), billing
addresses. Every change writes an activity row."""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from tensormesh.types.billing import (
    BillingAddress,
    TransactionDetails,
    TransactionType,
)
from tensormesh.types.billing import (
    BillingTransaction as TransactionModel,
)
from tensormesh.types.money import Money
from tensormesh_server.controlplane.errors import invalid_argument, not_found
from tensormesh_server.store.billing_models import BillingAddressRow, BillingTransaction
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import User

from .activities import Actor, record
from .billing_ledger import CURRENCY, Entry, money, post

logger = logging.getLogger("tensormesh_server")

ENV_SIGNUP_CREDIT = "TENSORMESH_SIGNUP_CREDIT"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_CREDIT_NANOS = 10**9 * 10**9  # one billion units at once
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


def transaction_model(row: BillingTransaction) -> TransactionModel:
    """The wire message of a ledger row."""
    details = TransactionDetails.model_validate(row.details) if row.details else None
    return TransactionModel(
        transaction_id=row.id,
        created_at=row.created_at,
        amount=Money.from_nanos(row.amount_nanos, row.currency_code),
        description=row.description,
        status=row.status,
        type=row.type,
        details=details,
    )


def _credit_nanos(amount: Money, what: str) -> int:
    if amount.currency_code != CURRENCY:
        raise invalid_argument(f"amount: only {CURRENCY} amounts are supported")
    nanos = amount.to_nanos()
    if nanos <= 0:
        raise invalid_argument(f"amount: {what} must be more than zero")
    if nanos > MAX_CREDIT_NANOS:
        raise invalid_argument("amount is too large")
    return nanos


def add_credit(
    session: Session,
    actor: Actor,
    target: User,
    amount: Money,
    *,
    now: datetime,
    description: str = "",
    refund: bool = False,
) -> BillingTransaction:
    """Grant `amount` (> 0) to `target` as a CREDIT (or REFUND) transaction."""
    kind = TransactionType.REFUND if refund else TransactionType.CREDIT
    nanos = _credit_nanos(amount, "a refund" if refund else "a credit")
    text = description or ("Refund" if refund else f"Credit granted by {actor.display}")
    (row,) = post(session, [Entry(target.id, kind, nanos, text)], now)
    record(
        session,
        actor,
        "billing.refund" if refund else "billing.credit",
        resource_type="billing_transaction",
        resource_id=row.id,
        user_id=target.id,
        now=now,
        description=f"{kind.name.lower()} of {money(nanos)} for {target.email}",
        metadata={"amount": money(nanos).to_wire(), "type": kind.value},
    )
    return row


def _encode_token(row: BillingTransaction) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        when, _, row_id = raw.partition("|")
        moment = datetime.fromisoformat(when)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_argument("pageToken is not a token this server issued") from None
    if not row_id or moment.tzinfo is None:
        raise invalid_argument("pageToken is not a token this server issued")
    return moment, row_id


def page_size(value: str | None) -> int:
    """`pageSize` from a query (default 50, at most 500; 400 when not a positive number)."""
    if value is None or not value.strip():
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        raise invalid_argument(f"pageSize must be a whole number, not {value!r}") from None
    if size < 1:
        raise invalid_argument("pageSize must be at least 1")
    return min(size, MAX_PAGE_SIZE)


def list_transactions(
    session: Session, user: User, size: int, token: str | None
) -> tuple[list[BillingTransaction], str]:
    """One page of the user's transactions, newest first, and the next page's token ("" at
    the end)."""
    query = select(BillingTransaction).where(BillingTransaction.user_id == user.id)
    if token:
        moment, row_id = _decode_token(token)
        query = query.where(
            or_(
                BillingTransaction.created_at < moment,
                and_(BillingTransaction.created_at == moment, BillingTransaction.id < row_id),
            )
        )
    query = query.order_by(BillingTransaction.created_at.desc(), BillingTransaction.id.desc())
    rows = list(session.scalars(query.limit(size + 1)))
    if len(rows) > size:
        return rows[:size], _encode_token(rows[size - 1])
    return rows, ""


def get_address(session: Session, user: User) -> BillingAddress:
    """The user's billing address (empty when never set)."""
    row = session.get(BillingAddressRow, user.id)
    if row is None:
        return BillingAddress()
    return BillingAddress(**{name: getattr(row, name) or None for name in ADDRESS_FIELDS})


def update_address(
    session: Session, actor: Actor, user: User, address: BillingAddress, *, now: datetime
) -> None:
    """Replace the fields that `address` sets (a field sent as "" clears it)."""
    changes: dict[str, Any] = {}
    for name in ADDRESS_FIELDS:
        value = getattr(address, name)
        if value is None:
            continue
        limit = int(getattr(BillingAddressRow.__table__.c[name].type, "length", 300))
        if len(value) > limit:
            raise invalid_argument(f"address.{name} is longer than {limit} characters")
        changes[name] = value.strip()
    row = session.get(BillingAddressRow, user.id)
    if row is None:
        row = BillingAddressRow(
            user_id=user.id, updated_at=now, **dict.fromkeys(ADDRESS_FIELDS, "")
        )
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now
    record(
        session,
        actor,
        "billing.address.update",
        resource_type="billing_address",
        resource_id=user.id,
        user_id=user.id,
        now=now,
        description=f"updated the billing address of {user.email}",
        metadata={"fields": sorted(changes)},
    )


def operator_credit(db: Database, email: str, amount: Money, *, refund: bool = False) -> Money:
    """`tm server billing credit EMAIL AMOUNT [--refund]`: a CREDIT (or REFUND) by the
    operator; returns the new balance."""
    from tensormesh_server.controlplane.context import utc_now

    from .activities import OPERATOR
    from .billing_ledger import balance_nanos
    from .users import find_by_email, normalize_email

    with db.session() as session:
        user = find_by_email(session, normalize_email(email))
        if user is None:
            raise not_found(f"no user with the email {email!r}")
        text = "Operator refund" if refund else "Operator credit"
        add_credit(session, OPERATOR, user, amount, now=utc_now(), description=text, refund=refund)
        return money(balance_nanos(session, user.id))


def signup_credit(env: Mapping[str, str] = os.environ) -> Money | None:
    """The credit new users get (`TENSORMESH_SIGNUP_CREDIT`, e.g. "5.00"); None when unset,
    zero or invalid (an invalid value is logged, never fatal)."""
    raw = env.get(ENV_SIGNUP_CREDIT, "").strip()
    if not raw:
        return None
    try:
        amount = Money.parse(raw, CURRENCY)
    except ValueError as exc:
        logger.warning("%s=%r is ignored: %s", ENV_SIGNUP_CREDIT, raw, exc)
        return None
    if amount.currency_code != CURRENCY or amount.to_nanos() <= 0:
        logger.warning(
            "%s=%r is ignored: give a positive %s amount", ENV_SIGNUP_CREDIT, raw, CURRENCY
        )
        return None
    return amount


def grant_signup_credit(
    session: Session, user: User, *, now: datetime, env: Mapping[str, str] = os.environ
) -> None:
    """Give a new user the operator's signup credit (a CREDIT transaction), if any."""
    from .activities import SYSTEM

    amount = signup_credit(env)
    if amount is not None:
        add_credit(session, SYSTEM, user, amount, now=now, description="Signup credit")
