"""`GET /v1/products`, and the admin routes `GET/POST /v1/admin/products`,
`DELETE /v1/products/{id}`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.operations import ProductDeleted, ProductList, ProductReply, ProductUpsert
from tensormesh_server.controlplane.services import products
from tensormesh_server.store.models import User

from .common import as_user, json_object, parse, reply


async def list_products(request: Request) -> Response:
    """The active products."""

    def run(session: Session, _actor: User, _now: datetime) -> ProductList:
        rows = products.listing(session, include_inactive=False)
        return ProductList(products=[products.product_model(row) for row in rows])

    return reply(await as_user(request, run))


async def admin_list(request: Request) -> Response:
    """Admins: every product, inactive ones too."""

    def run(session: Session, actor: User, _now: datetime) -> ProductList:
        products.require_admin(actor)
        rows = products.listing(session, include_inactive=True)
        return ProductList(products=[products.product_model(row) for row in rows])

    return reply(await as_user(request, run))


async def admin_upsert(request: Request) -> Response:
    """Admins: create or replace a product."""
    body = parse(ProductUpsert, await json_object(request, admin=True))

    def run(session: Session, actor: User, now: datetime) -> ProductReply:
        row = products.upsert(session, actor, body.product, now)
        return ProductReply(product=products.product_model(row))

    return reply(await as_user(request, run))


async def admin_delete(request: Request) -> Response:
    """Admins: delete a product."""
    product_id = str(request.path_params["product_id"])

    def run(session: Session, actor: User, now: datetime) -> ProductDeleted:
        products.remove(session, actor, product_id, now)
        return ProductDeleted(deleted=True)

    return reply(await as_user(request, run))


routes = [
    Route("/v1/products", list_products, methods=["GET"]),
    Route("/v1/products/{product_id}", admin_delete, methods=["DELETE"]),
    Route("/v1/admin/products", admin_list, methods=["GET"]),
    Route("/v1/admin/products", admin_upsert, methods=["POST", "PUT"]),
]
