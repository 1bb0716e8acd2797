"""`tm tickets`: support tickets (list, get, create, message, close)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.commands.auth import timestamp_text
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.listing import PageRequest, compact, paging_options, show_listing
from tensormesh_cli.prompting import read_text
from tensormesh_cli.render import View, emit, format_text
from tensormesh_cli.state import CliState, get_state

if TYPE_CHECKING:
    from tensormesh.types.operations import Ticket

COLUMNS = ("id", "subject", "status", "type", "messages", "updated")
STATUSES = {"open": "TICKET_STATUS_OPEN", "closed": "TICKET_STATUS_CLOSED"}


@click.group()
def tickets() -> None:
    """Support tickets: open one, talk in it, close it."""


def status_text(value: object) -> str | None:
    """`TICKET_STATUS_OPEN` -> `OPEN`."""
    return None if value is None else str(value).removeprefix("TICKET_STATUS_")


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    """One ticket as a table row."""
    return {
        "id": ticket.ticket_id,
        "subject": ticket.subject,
        "status": status_text(ticket.status),
        "type": ticket.type,
        "messages": len(ticket.conversations),
        "updated": timestamp_text(ticket.updated_at or ticket.created_at),
    }


def ticket_text(ticket: Ticket) -> str:
    """The ticket's fields, then its conversation, oldest message first."""
    fields = {
        "id": ticket.ticket_id,
        "subject": ticket.subject,
        "status": status_text(ticket.status),
        "type": ticket.type,
        "requester": ticket.requester_user_id,
        "created": timestamp_text(ticket.created_at),
        "updated": timestamp_text(ticket.updated_at),
    }
    parts = [format_text({key: value for key, value in fields.items() if value})]
    for message in ticket.conversations:
        who = message.user_name or message.user_id or "?"
        if message.user_role:
            who += f" ({str(message.user_role).removeprefix('USER_ROLE_').lower()})"
        parts.append(f"--- {who}, {timestamp_text(message.created_at) or '-'}\n{message.content}")
    return "\n\n".join(parts)


def _show(state: CliState, ticket: Ticket) -> None:
    emit(View(data=ticket, text=ticket_text(ticket)), state.output)


@tickets.command("list")
@click.option("--status", type=click.Choice(sorted(STATUSES)), help="Only open or closed tickets.")
@click.option("--user-id", help="Another user's tickets (admins only).")
@paging_options
def list_(
    status: str | None, user_id: str | None, page: int | None, size: int | None, all_pages: bool
) -> None:
    """List tickets (yours; admins see everyone's)."""
    state = get_state()
    paging = PageRequest.of(page, size, all_pages)
    filters = compact({"status": STATUSES.get(status or ""), "user_id": user_id})
    listing = ControlPlaneSession.for_state(state).call(
        lambda cp: paging.fetch(
            lambda params: cp.support.tickets.list(**filters, **params),
            lambda params: cp.support.tickets.auto_paging_iter(**filters, **params),
        )
    )
    show_listing(state, listing, "tickets", ticket_row, COLUMNS)


@tickets.command()
@click.argument("ticket_id")
def get(ticket_id: str) -> None:
    """Show a ticket and its conversation."""
    state = get_state()
    reply = ControlPlaneSession.for_state(state).call(lambda cp: cp.support.tickets.get(ticket_id))
    _show(state, reply.ticket)


@tickets.command()
@click.option("--subject", help="One line saying what it is about (asked for on a terminal).")
@click.option(
    "--message", "-m", help="The first message; `-` reads stdin (asked for on a terminal)."
)
@click.option("--type", "ticket_type", help="The kind of ticket (e.g. billing, technical).")
def create(subject: str | None, message: str | None, ticket_type: str | None) -> None:
    """Open a support ticket."""
    state = get_state()
    subject = read_text(subject, "Subject", "--subject")
    message = read_text(message, "Message", "--message")
    extra = compact({"ticket_type": ticket_type})
    reply = ControlPlaneSession.for_state(state).call(
        lambda cp: cp.support.tickets.create(subject=subject, message=message, **extra)
    )
    state.say(f"Opened ticket {reply.ticket.ticket_id}.")
    _show(state, reply.ticket)


@tickets.command()
@click.argument("ticket_id")
@click.argument("text", required=False)
def message(ticket_id: str, text: str | None) -> None:
    """Add a message to a ticket (TEXT, `-` for stdin, or asked for on a terminal)."""
    state = get_state()
    content = read_text(text, "Message", "TEXT")
    reply = ControlPlaneSession.for_state(state).call(
        lambda cp: cp.support.tickets.add_message(ticket_id, message=content)
    )
    state.say(f"Added a message to ticket {ticket_id}.")
    _show(state, reply.ticket)


@tickets.command()
@click.argument("ticket_id")
def close(ticket_id: str) -> None:
    """Close a ticket."""
    state = get_state()
    reply = ControlPlaneSession.for_state(state).call(
        lambda cp: cp.support.tickets.close(ticket_id)
    )
    state.say(f"Closed ticket {ticket_id}.")
    _show(state, reply.ticket)


__all__ = ["tickets"]
