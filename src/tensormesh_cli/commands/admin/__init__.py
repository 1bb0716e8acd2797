"""`tm admin`: control-plane administration (USER_ROLE_ADMIN or USER_ROLE_SUPER_ADMIN only).

Each subgroup lives in its own module, imported only when it runs.
"""

from __future__ import annotations

import click

from tensormesh_cli.lazy_group import LazyCommand, LazyGroup

__all__ = ["admin"]

ADMIN_COMMANDS = {
    "billing": LazyCommand(
        "tensormesh_cli.commands.admin.billing:billing",
        "Balances, credit, spending and serverless prices of any user.",
    ),
    "products": LazyCommand(
        "tensormesh_cli.commands.admin.products:products", "List, upsert and delete products."
    ),
    "users": LazyCommand(
        "tensormesh_cli.commands.admin.users:users", "List users and change their roles."
    ),
}


@click.group(cls=LazyGroup, lazy_commands=ADMIN_COMMANDS)
def admin() -> None:
    """Administration of the control plane (admins only)."""
