"""`control_plane.support`: support tickets (`support.tickets`) and requests for reserved
GPU deployments (`support.reserved_deployments`)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._options import RequestOptions
from tensormesh._pagination import AsyncPager, NumberedPages, SyncPager
from tensormesh.types.operations import (
    ReservedDeploymentParams,
    ReservedDeploymentReply,
    ReservedDeploymentRequest,
    Ticket,
    TicketCreate,
    TicketCreateParams,
    TicketList,
    TicketListParams,
    TicketListQuery,
    TicketMessageRequest,
    TicketReply,
)

from ._base import AsyncControlPlaneResource, ControlPlaneResource
from ._wire import body_params

if TYPE_CHECKING:
    from tensormesh._transport import AsyncTransport, SyncTransport

__all__ = [
    "AsyncReservedDeployments",
    "AsyncSupport",
    "AsyncTickets",
    "ReservedDeployments",
    "Support",
    "Tickets",
]

TICKETS = "/v1/support/tickets"
TICKET = TICKETS + "/{ticket_id}"
LIST_TICKETS: Endpoint[TicketList, None] = Endpoint(
    "GET", TICKETS, TicketList, surface=CONTROL_PLANE
)
CREATE_TICKET: Endpoint[TicketReply, None] = Endpoint(
    "POST", TICKETS, TicketReply, surface=CONTROL_PLANE
)
GET_TICKET: Endpoint[TicketReply, None] = Endpoint(
    "GET", TICKET, TicketReply, surface=CONTROL_PLANE
)
CLOSE_TICKET: Endpoint[TicketReply, None] = Endpoint(
    "DELETE", TICKET, TicketReply, surface=CONTROL_PLANE
)
ADD_MESSAGE: Endpoint[TicketReply, None] = Endpoint(
    "POST", TICKET + "/messages", TicketReply, surface=CONTROL_PLANE
)
SUBMIT_RESERVED: Endpoint[ReservedDeploymentReply, None] = Endpoint(
    "POST", "/v1/support/reserved-deployments", ReservedDeploymentReply, surface=CONTROL_PLANE
)
PAGES = NumberedPages("tickets")


def _message_params(message: str, options: RequestOptions) -> dict[str, object]:
    return body_params({"message": message, **options}, TicketMessageRequest)


class Tickets(ControlPlaneResource):
    """Support tickets: yours (an admin sees everyone's and may reply)."""

    def list(self, **params: Unpack[TicketListParams]) -> TicketList:
        """GET /v1/support/tickets: one page (`.tickets`, `.page`, `.size`, `.total`);
        `status` filters (TicketStatus.OPEN / CLOSED)."""
        return self._fetch(LIST_TICKETS, body_params(params, TicketListQuery))

    def auto_paging_iter(self, **params: Unpack[TicketListParams]) -> SyncPager[TicketList, Ticket]:
        """Every matching ticket, fetching pages lazily while iterating."""
        return SyncPager(self.list, PAGES, params)

    def create(self, **params: Unpack[TicketCreateParams]) -> TicketReply:
        """POST /v1/support/tickets: open a ticket with its first message."""
        return self._fetch(CREATE_TICKET, body_params(params, TicketCreate))

    def get(self, ticket_id: str, **options: Unpack[RequestOptions]) -> TicketReply:
        """GET /v1/support/tickets/{ticket_id}: a ticket with its conversation."""
        return self._fetch_at(GET_TICKET, options, ticket_id=ticket_id)

    def close(self, ticket_id: str, **options: Unpack[RequestOptions]) -> TicketReply:
        """DELETE /v1/support/tickets/{ticket_id}: close a ticket; returns it closed."""
        return self._fetch_at(CLOSE_TICKET, options, ticket_id=ticket_id)

    def add_message(
        self, ticket_id: str, *, message: str, **options: Unpack[RequestOptions]
    ) -> TicketReply:
        """POST /v1/support/tickets/{ticket_id}/messages: add to the conversation."""
        return self._fetch_at(ADD_MESSAGE, _message_params(message, options), ticket_id=ticket_id)


class AsyncTickets(AsyncControlPlaneResource):
    """Support tickets (async): the same methods as `Tickets`."""

    async def list(self, **params: Unpack[TicketListParams]) -> TicketList:
        """GET /v1/support/tickets: one page (`.tickets`, `.page`, `.size`, `.total`)."""
        return await self._fetch(LIST_TICKETS, body_params(params, TicketListQuery))

    def auto_paging_iter(
        self, **params: Unpack[TicketListParams]
    ) -> AsyncPager[TicketList, Ticket]:
        """Every matching ticket (`async for`), fetching pages lazily while iterating."""
        return AsyncPager(self.list, PAGES, params)

    async def create(self, **params: Unpack[TicketCreateParams]) -> TicketReply:
        """POST /v1/support/tickets: open a ticket with its first message."""
        return await self._fetch(CREATE_TICKET, body_params(params, TicketCreate))

    async def get(self, ticket_id: str, **options: Unpack[RequestOptions]) -> TicketReply:
        """GET /v1/support/tickets/{ticket_id}: a ticket with its conversation."""
        return await self._fetch_at(GET_TICKET, options, ticket_id=ticket_id)

    async def close(self, ticket_id: str, **options: Unpack[RequestOptions]) -> TicketReply:
        """DELETE /v1/support/tickets/{ticket_id}: close a ticket; returns it closed."""
        return await self._fetch_at(CLOSE_TICKET, options, ticket_id=ticket_id)

    async def add_message(
        self, ticket_id: str, *, message: str, **options: Unpack[RequestOptions]
    ) -> TicketReply:
        """POST /v1/support/tickets/{ticket_id}/messages: add to the conversation."""
        return await self._fetch_at(
            ADD_MESSAGE, _message_params(message, options), ticket_id=ticket_id
        )


class ReservedDeployments(ControlPlaneResource):
    """Requests for dedicated GPU capacity, read by the Tensormesh team (admins)."""

    def submit(self, **params: Unpack[ReservedDeploymentParams]) -> ReservedDeploymentReply:
        """POST /v1/support/reserved-deployments: store a request; returns its `request_id`."""
        return self._fetch(SUBMIT_RESERVED, body_params(params, ReservedDeploymentRequest))


class AsyncReservedDeployments(AsyncControlPlaneResource):
    """Requests for dedicated GPU capacity (async)."""

    async def submit(self, **params: Unpack[ReservedDeploymentParams]) -> ReservedDeploymentReply:
        """POST /v1/support/reserved-deployments: store a request; returns its `request_id`."""
        return await self._fetch(SUBMIT_RESERVED, body_params(params, ReservedDeploymentRequest))


class Support:
    """Support: `tickets` and `reserved_deployments`."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    @cached_property
    def tickets(self) -> Tickets:
        """Support tickets."""
        return Tickets(self._transport)

    @cached_property
    def reserved_deployments(self) -> ReservedDeployments:
        """Requests for reserved GPU deployments."""
        return ReservedDeployments(self._transport)


class AsyncSupport:
    """Support (async): `tickets` and `reserved_deployments`."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    @cached_property
    def tickets(self) -> AsyncTickets:
        """Support tickets."""
        return AsyncTickets(self._transport)

    @cached_property
    def reserved_deployments(self) -> AsyncReservedDeployments:
        """Requests for reserved GPU deployments."""
        return AsyncReservedDeployments(self._transport)
