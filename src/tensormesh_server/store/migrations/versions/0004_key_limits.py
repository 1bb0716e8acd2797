"""Per-key rate limits: requests and tokens per minute (NULL = unlimited).

Revision ID: 0004_key_limits
Revises: 0003_operations
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_key_limits"
down_revision = "0003_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("rate_limit_rpm", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rate_limit_tpm", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("rate_limit_tpm")
        batch.drop_column("rate_limit_rpm")
