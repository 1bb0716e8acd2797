"""`tm products`: the products (GPU offerings) on sale."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.listing import Listing, show_listing
from tensormesh_cli.render import dump_json
from tensormesh_cli.state import get_state

if TYPE_CHECKING:
    from tensormesh.types.operations import Product

COLUMNS = ("id", "name", "family", "gpus", "active", "spec")


def product_row(product: Product) -> dict[str, Any]:
    """One product as a table row."""
    spec = product.spec
    return {
        "id": product.id,
        "name": product.name,
        "family": product.family,
        "gpus": product.required_gpu_num,
        "active": None if product.is_active is None else ("yes" if product.is_active else "no"),
        "spec": spec if spec is None or isinstance(spec, str) else dump_json(spec, compact=True),
    }


@click.group()
def products() -> None:
    """Products (GPU offerings)."""


@products.command("list")
def list_() -> None:
    """List the products."""
    state = get_state()
    reply = ControlPlaneSession.for_state(state).call(lambda cp: cp.products.list())
    show_listing(state, Listing(reply.products, None), "products", product_row, COLUMNS)


__all__ = ["product_row", "products"]
