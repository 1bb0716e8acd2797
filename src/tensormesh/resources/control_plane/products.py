"""`control_plane.products`: the products (GPU offerings) on sale (`/v1/products`)."""

from __future__ import annotations

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._options import RequestOptions
from tensormesh.types.operations import ProductList

from ._base import AsyncControlPlaneResource, ControlPlaneResource

__all__ = ["AsyncProducts", "Products"]

LIST_PRODUCTS: Endpoint[ProductList, None] = Endpoint(
    "GET", "/v1/products", ProductList, surface=CONTROL_PLANE
)


class Products(ControlPlaneResource):
    """Products anyone signed in may see."""

    def list(self, **options: Unpack[RequestOptions]) -> ProductList:
        """GET /v1/products: every product (`.products`)."""
        return self._fetch(LIST_PRODUCTS, options)


class AsyncProducts(AsyncControlPlaneResource):
    """Products anyone signed in may see (async)."""

    async def list(self, **options: Unpack[RequestOptions]) -> ProductList:
        """GET /v1/products: every product (`.products`)."""
        return await self._fetch(LIST_PRODUCTS, options)
