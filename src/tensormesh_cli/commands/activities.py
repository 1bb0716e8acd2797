"""`tm activities`: the audit trail of control-plane changes (list with filters, get)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.commands.auth import timestamp_text
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.listing import PageRequest, compact, paging_options, show_listing
from tensormesh_cli.render import View, emit, format_text
from tensormesh_cli.state import get_state
from tensormesh_cli.timespec import parse_moment

if TYPE_CHECKING:
    from tensormesh.types.operations import Activity

COLUMNS = ("time", "actor", "action", "resource", "description")


@click.group()
def activities() -> None:
    """What changed in the control plane, who changed it and when."""


def activity_row(activity: Activity) -> dict[str, Any]:
    """One activity as a table row."""
    resource = "/".join(part for part in (activity.resource_type, activity.resource_id) if part)
    return {
        "time": timestamp_text(activity.occurred_at),
        "actor": activity.actor_display or activity.actor_id,
        "action": activity.action,
        "resource": resource or None,
        "description": activity.description or None,
        "id": activity.activity_id,
    }


@activities.command("list")
@click.option("--user-id", help="Only changes to this user's resources (admins: anyone's).")
@click.option("--action", help="Only this action (e.g. api_key.create).")
@click.option("--resource-type", help="Only this kind of resource.")
@click.option("--resource-id", help="Only this resource.")
@click.option("--since", "--start", "start", metavar="TIME", help="From this time (or 24h ago).")
@click.option("--until", "--end", "end", metavar="TIME", help="Up to this time (RFC 3339).")
@paging_options
def list_(
    user_id: str | None,
    action: str | None,
    resource_type: str | None,
    resource_id: str | None,
    start: str | None,
    end: str | None,
    page: int | None,
    size: int | None,
    all_pages: bool,
) -> None:
    """List activities, newest first (one page, or --all)."""
    state = get_state()
    paging = PageRequest.of(page, size, all_pages)
    filters = compact(
        {
            "user_id": user_id,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "start_time": parse_moment(start, "--since") if start else None,
            "end_time": parse_moment(end, "--until") if end else None,
        }
    )
    listing = ControlPlaneSession.for_state(state).call(
        lambda cp: paging.fetch(
            lambda params: cp.activities.list(**filters, **params),
            lambda params: cp.activities.auto_paging_iter(**filters, **params),
        )
    )
    show_listing(state, listing, "activities", activity_row, (*COLUMNS, "id"))


@activities.command()
@click.argument("activity_id")
def get(activity_id: str) -> None:
    """Show one activity with its metadata."""
    state = get_state()
    activity = (
        ControlPlaneSession.for_state(state)
        .call(lambda cp: cp.activities.get(activity_id))
        .activity
    )
    fields = {
        "id": activity.activity_id,
        "time": timestamp_text(activity.occurred_at),
        "recorded": timestamp_text(activity.recorded_at),
        "actor": activity.actor_display,
        "actor_type": activity.actor_type,
        "actor_id": activity.actor_id,
        "user_id": activity.user_id,
        "action": activity.action,
        "resource_type": activity.resource_type,
        "resource_id": activity.resource_id,
        "description": activity.description,
        "metadata": activity.metadata or None,
    }
    text = format_text({key: value for key, value in fields.items() if value})
    emit(View(data=activity, text=text), state.output)


__all__ = ["activities"]
