"""Serverless prices (Money per 1,000,000 tokens): validation, admin create/update/delete, the
public list, and the active price of each model used to charge usage.

One row per model is active: creating or activating a price deactivates the model's others.
A model is known when the server serves it (static models, live deployments), was metered, or
already has a price; pricing an unknown model is a 400.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tensormesh.types.billing import ServerlessPricing
from tensormesh.types.money import Money
from tensormesh_server.controlplane.errors import invalid_argument, not_found
from tensormesh_server.store.billing_models import RequestRecord, ServerlessPrice
from tensormesh_server.store.models import new_id

from .activities import Actor, record
from .billing_ledger import CURRENCY

MAX_PRICE_NANOS = 10**18
"""The largest price accepted (one billion units per 1M tokens)."""


def pricing_model(row: ServerlessPrice) -> ServerlessPricing:
    """The wire message of a price row."""
    cached = row.cached_price_nanos
    return ServerlessPricing(
        id=row.id,
        name=row.name,
        model=row.model,
        input_token_price=Money.from_nanos(row.input_price_nanos, row.currency_code),
        output_token_price=Money.from_nanos(row.output_price_nanos, row.currency_code),
        cached_token_price=None if cached is None else Money.from_nanos(cached, row.currency_code),
        is_active=row.is_active,
    )


def _price_nanos(label: str, price: Money | None, *, required: bool) -> int | None:
    if price is None:
        if required:
            raise invalid_argument(f"pricing.{label} is required")
        return None
    if price.currency_code != CURRENCY:
        raise invalid_argument(f"pricing.{label}: only {CURRENCY} prices are supported")
    nanos = price.to_nanos()
    if nanos < 0:
        raise invalid_argument(f"pricing.{label} must not be negative")
    if nanos > MAX_PRICE_NANOS:
        raise invalid_argument(f"pricing.{label} is too large")
    return nanos


def _known_models(session: Session, static_models: Collection[str]) -> set[str]:
    known = set(static_models)
    known.update(session.scalars(select(ServerlessPrice.model).distinct()))
    known.update(_deployed_models(session))
    return known


def _deployed_models(session: Session) -> Iterable[str]:
    try:  # the deployments table of the operations schema, when present
        from tensormesh_server.store.operations_models import Deployment
    except ImportError:  # pragma: no cover - older schema
        return ()
    return session.scalars(select(Deployment.model_name).where(Deployment.deleted_at.is_(None)))


def _check_model(session: Session, model: str, static_models: Collection[str]) -> str:
    name = model.strip()
    if not name:
        raise invalid_argument("pricing.model is required")
    if name in _known_models(session, static_models):
        return name
    metered = session.scalar(select(RequestRecord.id).where(RequestRecord.model == name).limit(1))
    if metered is None:
        raise invalid_argument(
            f"unknown model {name!r}: price a model the server serves (see GET /v1/models)"
        )
    return name


def _deactivate_others(session: Session, model: str, keep_id: str, now: datetime) -> None:
    session.execute(
        update(ServerlessPrice)
        .where(ServerlessPrice.model == model, ServerlessPrice.id != keep_id)
        .where(ServerlessPrice.is_active.is_(True))
        .values(is_active=False, updated_at=now)
    )


def list_pricing(
    session: Session, *, model: str | None = None, active_only: bool = False
) -> list[ServerlessPrice]:
    """Prices, by model then newest first."""
    query = select(ServerlessPrice)
    if model:
        query = query.where(ServerlessPrice.model == model)
    if active_only:
        query = query.where(ServerlessPrice.is_active.is_(True))
    query = query.order_by(ServerlessPrice.model, ServerlessPrice.created_at.desc())
    return list(session.scalars(query))


def create_pricing(
    session: Session,
    actor: Actor,
    pricing: ServerlessPricing,
    *,
    now: datetime,
    static_models: Collection[str] = (),
) -> ServerlessPrice:
    """A new price for a known model (active unless `isActive` is false)."""
    input_nanos = _price_nanos("inputTokenPrice", pricing.input_token_price, required=True)
    output_nanos = _price_nanos("outputTokenPrice", pricing.output_token_price, required=True)
    cached_nanos = _price_nanos("cachedTokenPrice", pricing.cached_token_price, required=False)
    model = _check_model(session, pricing.model, static_models)
    row = ServerlessPrice(
        id=new_id(),
        name=(pricing.name or model).strip(),
        model=model,
        currency_code=CURRENCY,
        input_price_nanos=input_nanos,
        output_price_nanos=output_nanos,
        cached_price_nanos=cached_nanos,
        is_active=pricing.is_active is not False,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    if row.is_active:
        _deactivate_others(session, model, row.id, now)
    _audit(session, actor, "billing.pricing.create", row, now)
    return row


def update_pricing(
    session: Session,
    actor: Actor,
    pricing: ServerlessPricing,
    *,
    now: datetime,
    static_models: Collection[str] = (),
) -> ServerlessPrice:
    """Change the price `pricing.id` (fields that are not sent stay as they are)."""
    if not pricing.id:
        raise invalid_argument("pricing.id is required to update a price")
    row = session.get(ServerlessPrice, pricing.id)
    if row is None:
        raise not_found(f"no price {pricing.id!r}")
    changes: dict[str, int | None] = {}
    for label, price, column in (
        ("inputTokenPrice", pricing.input_token_price, "input_price_nanos"),
        ("outputTokenPrice", pricing.output_token_price, "output_price_nanos"),
        ("cachedTokenPrice", pricing.cached_token_price, "cached_price_nanos"),
    ):
        if price is not None:
            changes[column] = _price_nanos(label, price, required=True)
    model = row.model
    if pricing.model and pricing.model.strip() != row.model:
        model = _check_model(session, pricing.model, static_models)
    for column, value in changes.items():
        setattr(row, column, value)
    row.model = model
    if pricing.name is not None:
        row.name = pricing.name.strip()
    if pricing.is_active is not None:
        row.is_active = pricing.is_active
    row.updated_at = now
    session.flush()
    if row.is_active:
        _deactivate_others(session, model, row.id, now)
    _audit(session, actor, "billing.pricing.update", row, now)
    return row


def delete_pricing(session: Session, actor: Actor, pricing_id: str, *, now: datetime) -> None:
    """Remove a price (usage of its model is free until another price is active)."""
    row = session.get(ServerlessPrice, pricing_id) if pricing_id else None
    if row is None:
        raise not_found(f"no price {pricing_id!r}")
    _audit(session, actor, "billing.pricing.delete", row, now)
    session.delete(row)


def active_prices(session: Session, models: Iterable[str]) -> dict[str, ServerlessPrice]:
    """The active price of each of `models` that has one."""
    wanted = sorted(set(models))
    if not wanted:
        return {}
    rows = session.scalars(
        select(ServerlessPrice)
        .where(ServerlessPrice.model.in_(wanted), ServerlessPrice.is_active.is_(True))
        .order_by(ServerlessPrice.updated_at)
    )
    return {row.model: row for row in rows}


def _audit(
    session: Session, actor: Actor, action: str, row: ServerlessPrice, now: datetime
) -> None:
    record(
        session,
        actor,
        action,
        resource_type="serverless_pricing",
        resource_id=row.id,
        user_id=None,
        now=now,
        description=f"{action.rsplit('.', 1)[-1]} the price of {row.model}",
        metadata=pricing_model(row).to_wire(),
    )
