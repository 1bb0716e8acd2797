"""Products (GPU offerings) and their admin routes (API.md §2 "products", "Admin")."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tensormesh.types.control_plane import ControlPlaneModel

__all__ = ["Product", "ProductDeleted", "ProductList", "ProductReply", "ProductUpsert"]


class Product(ControlPlaneModel):
    """A product: a named GPU configuration (`spec` as the server describes it)."""

    id: str = ""
    name: str | None = None
    required_gpu_num: int | None = None
    family: str | None = None
    is_active: bool | None = None
    spec: Any = None


class ProductList(ControlPlaneModel):
    """`{products[]}`: the reply of GET /v1/products and GET /v1/admin/products."""

    products: list[Product] = Field(default_factory=list)


class ProductReply(ControlPlaneModel):
    """`{product}`: the reply of POST /v1/admin/products."""

    product: Product


class ProductUpsert(ControlPlaneModel):
    """Body of POST /v1/admin/products: the product to create or replace (by `id`)."""

    product: Product


class ProductDeleted(ControlPlaneModel):
    """`{deleted}`: the reply of DELETE /v1/products/{id}."""

    deleted: bool = False
