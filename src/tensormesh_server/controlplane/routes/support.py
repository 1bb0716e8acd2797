"""`/v1/support/...`: tickets and reserved-deployment requests; admins list the requests at
`GET /v1/admin/support/reserved-deployments` (page/size, this project's route)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.operations import (
    AdminUserListQuery,
    ReservedDeploymentReply,
    ReservedDeploymentRequest,
    TicketCreate,
    TicketList,
    TicketListQuery,
    TicketMessageRequest,
    TicketReply,
)
from tensormesh_server.controlplane.services import paging, support
from tensormesh_server.store.models import User
from tensormesh_server.store.operations_models import Ticket

from .common import as_user, json_object, parse, reply
from .queries import query


def _reply(session: Session, ticket: Ticket) -> TicketReply:
    messages = support.messages_of(session, [ticket.id])[ticket.id]
    return TicketReply(ticket=support.ticket_model(ticket, messages))


async def list_tickets(request: Request) -> Response:
    """A page of tickets, optionally only those with `status`."""
    params = query(request, TicketListQuery)
    page = paging.Page.of(params.page, params.size)
    status = str(params.status) if params.status else None

    def run(session: Session, actor: User, _now: datetime) -> TicketList:
        rows, total = support.listing(session, actor, params.user_id, status, page)
        messages = support.messages_of(session, [row.id for row in rows])
        return TicketList(
            tickets=[support.ticket_model(row, messages[row.id]) for row in rows],
            page=page.page,
            size=page.size,
            total=total,
        )

    return reply(await as_user(request, run))


async def create_ticket(request: Request) -> Response:
    """Open a ticket with its first message."""
    body = parse(TicketCreate, await json_object(request))

    def run(session: Session, actor: User, now: datetime) -> TicketReply:
        ticket = support.create(session, actor, body.subject, body.message, body.ticket_type, now)
        return _reply(session, ticket)

    return reply(await as_user(request, run))


async def get_ticket(request: Request) -> Response:
    """One ticket with its conversation."""
    ticket_id = str(request.path_params["ticket_id"])

    def run(session: Session, actor: User, _now: datetime) -> TicketReply:
        return _reply(session, support.visible(session, actor, ticket_id))

    return reply(await as_user(request, run))


async def close_ticket(request: Request) -> Response:
    """Close a ticket; the reply is the closed ticket."""
    ticket_id = str(request.path_params["ticket_id"])

    def run(session: Session, actor: User, now: datetime) -> TicketReply:
        return _reply(session, support.close(session, actor, ticket_id, now))

    return reply(await as_user(request, run))


async def add_message(request: Request) -> Response:
    """Add a message to a ticket (its requester, or an admin replying)."""
    ticket_id = str(request.path_params["ticket_id"])
    body = parse(TicketMessageRequest, await json_object(request))

    def run(session: Session, actor: User, now: datetime) -> TicketReply:
        return _reply(session, support.add_message(session, actor, ticket_id, body.message, now))

    return reply(await as_user(request, run))


async def submit_reserved(request: Request) -> Response:
    """Store a request for a reserved deployment."""
    fields = parse(ReservedDeploymentRequest, await json_object(request)).to_wire()

    def run(session: Session, actor: User, now: datetime) -> ReservedDeploymentReply:
        row = support.submit_reserved(session, actor, fields, now)
        return ReservedDeploymentReply(request_id=row.id)

    return reply(await as_user(request, run))


async def list_reserved(request: Request) -> Response:
    """Admins: every reserved-deployment request, newest first."""
    params = query(request, AdminUserListQuery)
    page = paging.Page.of(params.page, params.size)

    def run(session: Session, actor: User, _now: datetime) -> dict[str, Any]:
        rows, total = support.list_reserved(session, actor, page)
        return {
            "requests": [support.reserved_model(row).to_wire() for row in rows],
            "page": page.page,
            "size": page.size,
            "total": total,
        }

    return reply(await as_user(request, run))


TICKET = "/v1/support/tickets/{ticket_id}"
routes = [
    Route("/v1/support/tickets", list_tickets, methods=["GET"]),
    Route("/v1/support/tickets", create_ticket, methods=["POST"]),
    Route(TICKET, get_ticket, methods=["GET"]),
    Route(TICKET, close_ticket, methods=["DELETE"]),
    Route(TICKET + "/messages", add_message, methods=["POST"]),
    Route("/v1/support/reserved-deployments", submit_reserved, methods=["POST"]),
    Route("/v1/admin/support/reserved-deployments", list_reserved, methods=["GET"]),
]
