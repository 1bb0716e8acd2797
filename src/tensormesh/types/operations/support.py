"""Support tickets and reserved-deployment requests (API.md §2 "Support")."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import Field
from typing_extensions import Required

from tensormesh._options import RequestOptions
from tensormesh.types.control_plane import ControlPlaneModel, Timestamp

from ._common import NumberedPageFields

__all__ = [
    "ReservedDeploymentParams",
    "ReservedDeploymentReply",
    "ReservedDeploymentRequest",
    "Ticket",
    "TicketCreate",
    "TicketCreateParams",
    "TicketList",
    "TicketListParams",
    "TicketListQuery",
    "TicketMessage",
    "TicketMessageRequest",
    "TicketReply",
    "TicketStatus",
]


class TicketStatus(str, enum.Enum):
    """Whether a ticket is still open."""

    OPEN = "TICKET_STATUS_OPEN"
    CLOSED = "TICKET_STATUS_CLOSED"

    def __str__(self) -> str:
        return self.value


Status = Annotated["TicketStatus | str", Field(union_mode="left_to_right")]
"""A `TicketStatus` when known, else the string as received (newer servers)."""


class TicketMessage(ControlPlaneModel):
    """One message of a ticket's conversation."""

    user_id: str | None = None
    user_name: str | None = None
    user_role: str | None = None
    content: str = ""
    created_at: Timestamp | None = None


class Ticket(ControlPlaneModel):
    """A support ticket and its conversation (oldest message first)."""

    ticket_id: str = ""
    subject: str | None = None
    requester_user_id: str | None = None
    status: Status | None = None
    type: str | None = None
    conversations: list[TicketMessage] = Field(default_factory=list)
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class TicketList(NumberedPageFields):
    """`{tickets[], page, size, total}`: the reply of GET /v1/support/tickets."""

    tickets: list[Ticket] = Field(default_factory=list)


class TicketReply(ControlPlaneModel):
    """`{ticket}`: the reply of create, get, close and add-message."""

    ticket: Ticket


class TicketListQuery(ControlPlaneModel):
    """Query of GET /v1/support/tickets."""

    status: TicketStatus | str | None = None
    page: int | None = Field(default=None, ge=1)
    size: int | None = Field(default=None, ge=1)
    user_id: str | None = None


class TicketCreate(ControlPlaneModel):
    """Body of POST /v1/support/tickets (`ticket_type` travels as `type`)."""

    subject: str
    message: str
    ticket_type: str | None = Field(default=None, alias="type")


class TicketMessageRequest(ControlPlaneModel):
    """Body of POST /v1/support/tickets/{ticketId}/messages."""

    message: str


class ReservedDeploymentRequest(ControlPlaneModel):
    """Body of POST /v1/support/reserved-deployments: a request for dedicated GPUs."""

    full_name: str | None = None
    work_email: str | None = None
    company: str | None = None
    job_title: str | None = None
    preferred_gpu: str | None = None
    total_gpus_needed: int | None = Field(default=None, ge=1)
    deployment_timeline: str | None = None
    workload_use_case: str | None = None
    networking_storage: str | None = None
    other_notes: str | None = None


class ReservedDeploymentReply(ControlPlaneModel):
    """`{requestId}`: the id under which the request was stored."""

    request_id: str = ""


class TicketListParams(RequestOptions, total=False):
    """Keyword arguments of `support.tickets.list` and `.auto_paging_iter`."""

    status: TicketStatus | str | None
    page: int | None
    size: int | None
    user_id: str | None


class TicketCreateParams(RequestOptions, total=False):
    """Keyword arguments of `support.tickets.create`."""

    subject: Required[str]
    message: Required[str]
    ticket_type: str | None


class ReservedDeploymentParams(RequestOptions, total=False):
    """Keyword arguments of `support.reserved_deployments.submit` (the fields of API.md)."""

    full_name: str | None
    work_email: str | None
    company: str | None
    job_title: str | None
    preferred_gpu: str | None
    total_gpus_needed: int | None
    deployment_timeline: str | None
    workload_use_case: str | None
    networking_storage: str | None
    other_notes: str | None
