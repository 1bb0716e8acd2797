"""Support tickets (a user sees only their own, 404 for others'; admins see all and reply),
reserved-deployment requests (stored; admins list them) and their activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tensormesh.types.operations import ReservedDeploymentRequest as ReservedModel
from tensormesh.types.operations import Ticket as TicketModel
from tensormesh.types.operations import TicketMessage as MessageModel
from tensormesh.types.operations import TicketStatus
from tensormesh_server.controlplane.errors import invalid_argument, not_found, permission_denied
from tensormesh_server.store.models import User
from tensormesh_server.store.operations_models import (
    ReservedDeploymentRequest,
    Ticket,
    TicketMessage,
)

from . import activities, paging
from .activities import Actor
from .users import is_admin, resolve_target

MAX_SUBJECT = 500
MAX_MESSAGE = 20_000


def ticket_model(ticket: Ticket, messages: list[TicketMessage]) -> TicketModel:
    """The `Ticket` message of a ticket and its messages."""
    return TicketModel(
        ticket_id=ticket.id,
        subject=ticket.subject,
        requester_user_id=ticket.user_id,
        status=ticket.status,
        type=ticket.type or None,
        conversations=[
            MessageModel(
                user_id=m.user_id,
                user_name=m.user_name,
                user_role=m.user_role,
                content=m.content,
                created_at=m.created_at,
            )
            for m in messages
        ],
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


def messages_of(session: Session, ticket_ids: list[str]) -> dict[str, list[TicketMessage]]:
    """The messages of each ticket, oldest first."""
    found: dict[str, list[TicketMessage]] = {ticket_id: [] for ticket_id in ticket_ids}
    if ticket_ids:
        rows = session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id.in_(ticket_ids))
            .order_by(TicketMessage.seq)
        )
        for row in rows:
            found[row.ticket_id].append(row)
    return found


def _text(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise invalid_argument(f"{field} must not be empty")
    if len(text) > limit:
        raise invalid_argument(f"{field} is longer than {limit} characters")
    return text


def _message(ticket: Ticket, author: User, content: str, now: datetime) -> TicketMessage:
    return TicketMessage(
        ticket_id=ticket.id,
        user_id=author.id,
        user_name=author.display_name or author.email,
        user_role=author.role,
        content=_text(content, "message", MAX_MESSAGE),
        created_at=now,
    )


def _record(session: Session, actor: User, action: str, ticket: Ticket, now: datetime) -> None:
    activities.record(
        session,
        Actor.of_user(actor),
        action,
        resource_type="ticket",
        resource_id=ticket.id,
        user_id=ticket.user_id,
        now=now,
        description=f"{action.split('.')[-1]} ticket {ticket.subject!r}",
    )


def create(
    session: Session, actor: User, subject: str, message: str, kind: str | None, now: datetime
) -> Ticket:
    """Open a ticket with its first message."""
    ticket = Ticket(
        user_id=actor.id,
        subject=_text(subject, "subject", MAX_SUBJECT),
        type=(kind or "").strip()[:80],
        status=TicketStatus.OPEN.value,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    session.add(_message(ticket, actor, message, now))
    _record(session, actor, "ticket.create", ticket, now)
    return ticket


def visible(session: Session, actor: User, ticket_id: str) -> Ticket:
    """A ticket of the caller, or any ticket for an admin; 404 otherwise."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or (ticket.user_id != actor.id and not is_admin(actor)):
        raise not_found(f"ticket {ticket_id!r} not found")
    return ticket


def listing(
    session: Session, actor: User, user_id: str | None, status: str | None, page: paging.Page
) -> tuple[list[Ticket], int]:
    """Tickets newest first: own, a named user's (admins), or everyone's for an admin."""
    statement: Select[Ticket] = select(Ticket)
    if user_id or not is_admin(actor):
        statement = statement.where(Ticket.user_id == resolve_target(session, actor, user_id).id)
    if status:
        known = {s.value for s in TicketStatus}
        if status not in known:
            raise invalid_argument(f"status must be one of {', '.join(sorted(known))}")
        statement = statement.where(Ticket.status == status)
    return paging.fetch(session, statement.order_by(Ticket.created_at.desc(), Ticket.id), page)


def add_message(
    session: Session, actor: User, ticket_id: str, content: str, now: datetime
) -> Ticket:
    """Add a message (the requester or an admin); a closed ticket takes no more."""
    ticket = visible(session, actor, ticket_id)
    if ticket.status == TicketStatus.CLOSED.value:
        raise invalid_argument("the ticket is closed; open a new one")
    session.add(_message(ticket, actor, content, now))
    ticket.updated_at = now
    _record(session, actor, "ticket.message", ticket, now)
    return ticket


def close(session: Session, actor: User, ticket_id: str, now: datetime) -> Ticket:
    """Close a ticket (closing a closed ticket changes nothing)."""
    ticket = visible(session, actor, ticket_id)
    if ticket.status != TicketStatus.CLOSED.value:
        ticket.status = TicketStatus.CLOSED.value
        ticket.updated_at = now
        _record(session, actor, "ticket.close", ticket, now)
    return ticket


def submit_reserved(
    session: Session, actor: User, fields: dict[str, Any], now: datetime
) -> ReservedDeploymentRequest:
    """Store a request for a reserved deployment."""
    row = ReservedDeploymentRequest(user_id=actor.id, fields=fields, created_at=now)
    session.add(row)
    session.flush()
    activities.record(
        session,
        Actor.of_user(actor),
        "reserved_deployment.submit",
        resource_type="reserved_deployment",
        resource_id=row.id,
        user_id=actor.id,
        now=now,
        description="requested a reserved deployment",
    )
    return row


def reserved_model(row: ReservedDeploymentRequest) -> ReservedModel:
    """A stored request with its id, owner and time (extra fields beyond API.md)."""
    return ReservedModel.model_validate(
        {**row.fields, "requestId": row.id, "userId": row.user_id, "createdAt": row.created_at}
    )


def list_reserved(
    session: Session, actor: User, page: paging.Page
) -> tuple[list[ReservedDeploymentRequest], int]:
    """Every reserved-deployment request, newest first (admins only)."""
    if not is_admin(actor):
        raise permission_denied("only an admin may list reserved-deployment requests")
    statement = select(ReservedDeploymentRequest).order_by(
        ReservedDeploymentRequest.created_at.desc(), ReservedDeploymentRequest.id
    )
    return paging.fetch(session, statement, page)
