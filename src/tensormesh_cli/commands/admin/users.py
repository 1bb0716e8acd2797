"""`tm admin users`: every user of the control plane, and changing a user's role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.commands.auth import timestamp_text
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.listing import PageRequest, paging_options, show_listing
from tensormesh_cli.render import View, emit
from tensormesh_cli.state import get_state

if TYPE_CHECKING:
    from tensormesh.types.control_plane import User

COLUMNS = ("id", "email", "name", "role", "created")
ROLES = {
    "user": "USER_ROLE_USER",
    "admin": "USER_ROLE_ADMIN",
    "super-admin": "USER_ROLE_SUPER_ADMIN",
}


def role_text(value: object) -> str | None:
    """`USER_ROLE_SUPER_ADMIN` -> `super-admin` (the names `change-role` takes)."""
    if value is None:
        return None
    return str(value).removeprefix("USER_ROLE_").lower().replace("_", "-")


def user_row(user: User) -> dict[str, Any]:
    """One user as a table row."""
    names = " ".join(part for part in (user.first_name, user.last_name) if part)
    return {
        "id": user.id,
        "email": user.user_email,
        "name": user.display_name or names or None,
        "role": role_text(user.user_role),
        "created": timestamp_text(user.created_at),
    }


@click.group()
def users() -> None:
    """Users of the control plane (admins only)."""


@users.command("list")
@paging_options
def list_(page: int | None, size: int | None, all_pages: bool) -> None:
    """List users (one page, or --all)."""
    state = get_state()
    paging = PageRequest.of(page, size, all_pages)
    listing = ControlPlaneSession.for_state(state).call(
        lambda cp: paging.fetch(
            lambda params: cp.admin.users.list(**params),
            lambda params: cp.admin.users.auto_paging_iter(**params),
        )
    )
    show_listing(state, listing, "users", user_row, COLUMNS)


@users.command("change-role")
@click.argument("user_id")
@click.argument("role", type=click.Choice(sorted(ROLES)))
def change_role(user_id: str, role: str) -> None:
    """Give USER_ID another ROLE (the last super admin cannot be demoted)."""
    state = get_state()
    reply = ControlPlaneSession.for_state(state).call(
        lambda cp: cp.admin.users.change_role(target_user_id=user_id, target_user_role=ROLES[role])
    )
    user = reply.user
    state.say(f"{user.user_email or user.id} is now {role_text(user.user_role) or role}.")
    row = user_row(user)
    emit(View(data=user, text="\n".join(f"{k}: {v or '-'}" for k, v in row.items())), state.output)


__all__ = ["users"]
