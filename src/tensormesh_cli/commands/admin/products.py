"""`tm admin products`: list, create or replace (upsert), and delete products."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from tensormesh_cli.commands.products import COLUMNS, product_row
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.errors import InputError
from tensormesh_cli.listing import Listing, compact, show_listing
from tensormesh_cli.render import View, emit, format_text
from tensormesh_cli.state import get_state


@click.group()
def products() -> None:
    """Products (admins only): inactive ones included."""


@products.command("list")
def list_() -> None:
    """List every product."""
    state = get_state()
    reply = ControlPlaneSession.for_state(state).call(lambda cp: cp.admin.products.list())
    show_listing(state, Listing(reply.products, None), "products", product_row, COLUMNS)


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a JSON object")
    return value


@products.command()
@click.option(
    "--file",
    "file_",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="A product as JSON (`-` for stdin); options override its fields.",
)
@click.option("--id", "product_id", help="The product to replace (omit to create one).")
@click.option("--name", help="Its name.")
@click.option("--family", help="Its GPU family (e.g. H100).")
@click.option("--required-gpu-num", type=click.IntRange(min=0), help="GPUs it needs.")
@click.option("--active/--inactive", "is_active", default=None, help="Whether it is on sale.")
@click.option("--spec", metavar="JSON", help="Its specification, a JSON object.")
def upsert(
    file_: Path | None,
    product_id: str | None,
    name: str | None,
    family: str | None,
    required_gpu_num: int | None,
    is_active: bool | None,
    spec: str | None,
) -> None:
    """Create a product, or replace the one with the same id."""
    state = get_state()
    product: dict[str, Any] = {}
    if file_ is not None:
        text = sys.stdin.read() if str(file_) == "-" else _read(file_)
        product = _json_object(text, str(file_))
    product.update(
        compact(
            {
                "id": product_id,
                "name": name,
                "family": family,
                "requiredGpuNum": required_gpu_num,
                "isActive": is_active,
                "spec": _json_object(spec, "--spec") if spec is not None else None,
            }
        )
    )
    if not product:
        raise InputError("nothing to upsert: give --file or product options (--name, --id...)")
    reply = ControlPlaneSession.for_state(state).call(lambda cp: cp.admin.products.upsert(product))
    saved = reply.product
    state.say(f"Saved product {saved.id or saved.name}.")
    emit(View(data=saved, text=format_text(product_row(saved))), state.output)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


@products.command()
@click.argument("product_id")
def delete(product_id: str) -> None:
    """Delete a product."""
    state = get_state()
    reply = ControlPlaneSession.for_state(state).call(
        lambda cp: cp.admin.products.delete(product_id)
    )
    if reply.deleted:
        state.say(f"Deleted product {product_id}.")
    else:
        state.say(f"Product {product_id} was not deleted.")
    if state.output != "text":
        emit(View(data={"id": product_id, "deleted": reply.deleted}), state.output)


__all__ = ["products"]
