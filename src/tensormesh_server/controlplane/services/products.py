"""Products (named GPU configurations): everyone lists the active ones, admins manage them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tensormesh.types.operations import Product as ProductModel
from tensormesh_server.controlplane.errors import invalid_argument, not_found, permission_denied
from tensormesh_server.store.models import User
from tensormesh_server.store.operations_models import Product

from . import activities
from .activities import Actor
from .users import is_admin


def product_model(row: Product) -> ProductModel:
    """The `Product` message of a row."""
    return ProductModel(
        id=row.id,
        name=row.name,
        required_gpu_num=row.required_gpu_num,
        family=row.family,
        is_active=row.is_active,
        spec=row.spec,
    )


def require_admin(actor: User) -> None:
    """403 unless the caller is an admin."""
    if not is_admin(actor):
        raise permission_denied("this route is for admins")


def listing(session: Session, *, include_inactive: bool) -> list[Product]:
    """Products by name (only active ones unless `include_inactive`)."""
    statement = select(Product).order_by(Product.name, Product.id)
    if not include_inactive:
        statement = statement.where(Product.is_active.is_(True))
    return list(session.scalars(statement))


def upsert(session: Session, actor: User, product: ProductModel, now: datetime) -> Product:
    """Create a product, or replace the one with the same `id`."""
    require_admin(actor)
    if not (product.name or "").strip():
        raise invalid_argument("product.name must not be empty")
    if product.required_gpu_num is not None and product.required_gpu_num < 0:
        raise invalid_argument("product.requiredGpuNum must not be negative")
    row = session.get(Product, product.id) if product.id else None
    created = row is None
    if row is None:
        row = Product(created_at=now)
        if product.id:
            row.id = product.id[:64]
        session.add(row)
    row.name = (product.name or "").strip()
    row.required_gpu_num = product.required_gpu_num or 0
    row.family = product.family or ""
    row.is_active = True if product.is_active is None else product.is_active
    row.spec = product.spec
    row.updated_at = now
    session.flush()
    activities.record(
        session,
        Actor.of_user(actor),
        "product.create" if created else "product.update",
        resource_type="product",
        resource_id=row.id,
        user_id=actor.id,
        now=now,
        description=f"{'created' if created else 'updated'} product {row.name}",
    )
    return row


def remove(session: Session, actor: User, product_id: str, now: datetime) -> None:
    """Delete a product (404 when unknown)."""
    require_admin(actor)
    row = session.get(Product, product_id)
    if row is None:
        raise not_found(f"product {product_id!r} not found")
    session.delete(row)
    activities.record(
        session,
        Actor.of_user(actor),
        "product.delete",
        resource_type="product",
        resource_id=product_id,
        user_id=actor.id,
        now=now,
        description=f"deleted product {row.name}",
    )
