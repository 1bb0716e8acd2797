"""`control_plane.admin.products`: list, create or replace, and delete products (admins only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._options import RequestOptions
from tensormesh.resources.control_plane._base import (
    AsyncControlPlaneResource,
    ControlPlaneResource,
)
from tensormesh.resources.control_plane._wire import body_params
from tensormesh.types.operations import (
    Product,
    ProductDeleted,
    ProductList,
    ProductReply,
    ProductUpsert,
)

__all__ = ["AdminProducts", "AsyncAdminProducts"]

LIST_PRODUCTS: Endpoint[ProductList, None] = Endpoint(
    "GET", "/v1/admin/products", ProductList, surface=CONTROL_PLANE
)
UPSERT_PRODUCT: Endpoint[ProductReply, None] = Endpoint(
    "POST", "/v1/admin/products", ProductReply, surface=CONTROL_PLANE
)
DELETE_PRODUCT: Endpoint[ProductDeleted, None] = Endpoint(
    "DELETE", "/v1/products/{product_id}", ProductDeleted, surface=CONTROL_PLANE
)


def _upsert_params(product: Product | Mapping[str, Any], options: RequestOptions) -> dict[str, Any]:
    """`{product}` checked against `Product` (a model or a dict with either field names)."""
    return body_params({"product": product, **options}, ProductUpsert)


class AdminProducts(ControlPlaneResource):
    """Products, as admins manage them (inactive ones included)."""

    def list(self, **options: Unpack[RequestOptions]) -> ProductList:
        """GET /v1/admin/products: every product (`.products`)."""
        return self._fetch(LIST_PRODUCTS, options)

    def upsert(
        self, product: Product | Mapping[str, Any], **options: Unpack[RequestOptions]
    ) -> ProductReply:
        """POST /v1/admin/products: create the product, or replace the one with its `id`."""
        return self._fetch(UPSERT_PRODUCT, _upsert_params(product, options))

    def delete(self, product_id: str, **options: Unpack[RequestOptions]) -> ProductDeleted:
        """DELETE /v1/products/{product_id}: remove a product (`.deleted`)."""
        return self._fetch_at(DELETE_PRODUCT, options, product_id=product_id)


class AsyncAdminProducts(AsyncControlPlaneResource):
    """Products, as admins manage them (async): the same methods as `AdminProducts`."""

    async def list(self, **options: Unpack[RequestOptions]) -> ProductList:
        """GET /v1/admin/products: every product (`.products`)."""
        return await self._fetch(LIST_PRODUCTS, options)

    async def upsert(
        self, product: Product | Mapping[str, Any], **options: Unpack[RequestOptions]
    ) -> ProductReply:
        """POST /v1/admin/products: create the product, or replace the one with its `id`."""
        return await self._fetch(UPSERT_PRODUCT, _upsert_params(product, options))

    async def delete(self, product_id: str, **options: Unpack[RequestOptions]) -> ProductDeleted:
        """DELETE /v1/products/{product_id}: remove a product (`.deleted`)."""
        return await self._fetch_at(DELETE_PRODUCT, options, product_id=product_id)
