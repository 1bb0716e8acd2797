"""Tables of operations (issue 5): deployed models with their events and logs, support tickets,
reserved-deployment requests and products. Imported by `store/models.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, new_id


class Deployment(Base):
    """A model deployed through the Control Plane; `status` is a `MODEL_STATUS_*` string.

    `revision` grows on every change the gateways must follow (deploy, delete); they poll
    its maximum.
    """

    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    model_path: Mapped[str] = mapped_column(String(2000), default="")
    engine: Mapped[str] = mapped_column(String(40))
    upstream_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_model_len: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer, default=1, index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class DeploymentEvent(Base):
    """A change of a deployment's status, with its reason."""

    __tablename__ = "deployment_events"
    __table_args__ = (Index("ix_deployment_events_deployment_id_seq", "deployment_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    log: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class DeploymentLog(Base):
    """One log line of a deployment (engine or gateway); each deployment keeps the newest
    `LOG_LINES_KEPT` lines."""

    __tablename__ = "deployment_logs"
    __table_args__ = (Index("ix_deployment_logs_deployment_id_seq", "deployment_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(String(36))
    timestamp: Mapped[datetime]
    message: Mapped[str] = mapped_column(Text)


class Ticket(Base):
    """A support ticket; `status` is a `TICKET_STATUS_*` string."""

    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TicketMessage(Base):
    """One message of a ticket's conversation."""

    __tablename__ = "ticket_messages"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(36))
    user_name: Mapped[str] = mapped_column(String(320), default="")
    user_role: Mapped[str] = mapped_column(String(40), default="")
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ReservedDeploymentRequest(Base):
    """A request for dedicated GPUs (the form's fields in `fields`)."""

    __tablename__ = "reserved_deployment_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Product(Base):
    """A product (a named GPU configuration) offered by the platform."""

    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), default="")
    required_gpu_num: Mapped[int] = mapped_column(Integer, default=0)
    family: Mapped[str] = mapped_column(String(80), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    spec: Mapped[Any] = mapped_column(JSON, default=None, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
