"""Operations: deployments (events, logs), support tickets, reserved deployments, products.

Revision ID: 0003_operations
Revises: 0002_billing
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_operations"
down_revision = "0002_billing"
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, nullable: bool = False) -> sa.Column[object]:
    kind: sa.types.TypeEngine[str] = sa.String(length) if length else sa.Text()
    return sa.Column(name, kind, nullable=nullable)


def _seq() -> sa.Column[object]:
    return sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True)


def _users_fk(table: str) -> sa.Column[object]:
    return sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", name=f"fk_{table}_user_id_users", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(36), nullable=False),
        _text("user_id", 36, nullable=True),
        _text("model_name", 200),
        _text("description"),
        _text("model_path", 2000),
        _text("engine", 40),
        sa.Column("upstream_urls", sa.JSON(), nullable=False),
        sa.Column("max_model_len", sa.Integer(), nullable=True),
        _text("status", 40),
        sa.Column("revision", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _time("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deployments"),
    )
    for column in ("user_id", "model_name", "revision"):
        op.create_index(f"ix_deployments_{column}", "deployments", [column])
    op.create_table(
        "deployment_events",
        _seq(),
        sa.Column(
            "deployment_id",
            sa.String(36),
            sa.ForeignKey(
                "deployments.id",
                name="fk_deployment_events_deployment_id_deployments",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        _text("event_type", 40),
        _text("log"),
        _time("created_at"),
        sa.PrimaryKeyConstraint("seq", name="pk_deployment_events"),
    )
    op.create_index(
        "ix_deployment_events_deployment_id_seq", "deployment_events", ["deployment_id", "seq"]
    )
    op.create_table(
        "deployment_logs",
        _seq(),
        _text("deployment_id", 36),
        _time("timestamp"),
        _text("message"),
        sa.PrimaryKeyConstraint("seq", name="pk_deployment_logs"),
    )
    op.create_index(
        "ix_deployment_logs_deployment_id_seq", "deployment_logs", ["deployment_id", "seq"]
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(36), nullable=False),
        _users_fk("tickets"),
        _text("subject", 500),
        _text("type", 80),
        _text("status", 40),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
    )
    op.create_index("ix_tickets_user_id", "tickets", ["user_id"])
    op.create_table(
        "ticket_messages",
        _seq(),
        sa.Column(
            "ticket_id",
            sa.String(36),
            sa.ForeignKey(
                "tickets.id", name="fk_ticket_messages_ticket_id_tickets", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        _text("user_id", 36),
        _text("user_name", 320),
        _text("user_role", 40),
        _text("content"),
        _time("created_at"),
        sa.PrimaryKeyConstraint("seq", name="pk_ticket_messages"),
    )
    op.create_index("ix_ticket_messages_ticket_id", "ticket_messages", ["ticket_id"])
    op.create_table(
        "reserved_deployment_requests",
        sa.Column("id", sa.String(36), nullable=False),
        _users_fk("reserved_deployment_requests"),
        sa.Column("fields", sa.JSON(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_reserved_deployment_requests"),
    )
    op.create_index(
        "ix_reserved_deployment_requests_user_id", "reserved_deployment_requests", ["user_id"]
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(64), nullable=False),
        _text("name", 200),
        sa.Column("required_gpu_num", sa.Integer(), nullable=False),
        _text("family", 80),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
    )


def downgrade() -> None:
    for table in (
        "products",
        "reserved_deployment_requests",
        "ticket_messages",
        "tickets",
        "deployment_logs",
        "deployment_events",
        "deployments",
    ):
        op.drop_table(table)
