"""Gateway runs: one row per gateway process, with the metering writer's heartbeat, so that a
gateway that stopped without writing its last records is found and reported.

Revision ID: 0005_gateway_runs
Revises: 0004_key_limits
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_gateway_runs"
down_revision = "0004_key_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("flush_seconds", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_write_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records_written", sa.BigInteger(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lost_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_runs"),
    )
    op.create_index("ix_gateway_runs_started_at", "gateway_runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_gateway_runs_started_at", table_name="gateway_runs")
    op.drop_table("gateway_runs")
