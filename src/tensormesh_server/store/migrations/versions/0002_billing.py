"""Billing: metered requests, serverless prices, ledger, balances, billing addresses.

Revision ID: 0002_billing
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0002_billing"
down_revision = "0001"
branch_labels = None
depends_on = None

# The seed price of the embedded model, nanos per 1,000,000 tokens (0.02 / 0.04 / 0.01 USD).
EMBEDDED_MODEL = "SmolLM2-135M-Instruct"
SEED_PRICES = {"input": 20_000_000, "output": 40_000_000, "cached": 10_000_000}


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _nanos(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _text(name: str, length: int) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=False)


def _user_pk(table: str) -> sa.Column[object]:
    return sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", name=f"fk_{table}_user_id_users", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "request_records",
        sa.Column("id", sa.String(36), nullable=False),
        _text("request_id", 128),
        _text("key_id", 64),
        sa.Column("user_id", sa.String(36), nullable=True),
        _text("model", 200),
        _text("endpoint", 40),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("abandoned", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        _nanos("prompt_tokens"),
        _nanos("completion_tokens"),
        _nanos("cached_tokens"),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("ttft_ms", sa.Integer(), nullable=True),
        _time("started_at"),
        _time("finished_at"),
        _text("currency_code", 3),
        _nanos("charge_nanos"),
        _nanos("cost_saving_nanos"),
        sa.Column("pricing_id", sa.String(36), nullable=True),
        sa.Column("transaction_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_request_records"),
    )
    op.create_index("ix_request_records_request_id", "request_records", ["request_id"])
    op.create_index("ix_request_records_transaction_id", "request_records", ["transaction_id"])
    op.create_index(
        "ix_request_records_user_id_finished_at", "request_records", ["user_id", "finished_at"]
    )
    op.create_index(
        "ix_request_records_model_finished_at", "request_records", ["model", "finished_at"]
    )
    op.create_table(
        "serverless_pricing",
        sa.Column("id", sa.String(36), nullable=False),
        _text("name", 200),
        _text("model", 200),
        _text("currency_code", 3),
        _nanos("input_price_nanos"),
        _nanos("output_price_nanos"),
        _nanos("cached_price_nanos", nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_serverless_pricing"),
    )
    op.create_index("ix_serverless_pricing_model", "serverless_pricing", ["model"])
    _seed_embedded_price()
    op.create_table(
        "billing_transactions",
        sa.Column("id", sa.String(36), nullable=False),
        _user_pk("billing_transactions"),
        _text("type", 40),
        _text("status", 40),
        _text("currency_code", 3),
        _nanos("amount_nanos"),
        _nanos("cost_saving_nanos"),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_billing_transactions"),
    )
    op.create_index(
        "ix_billing_transactions_user_id_created_at",
        "billing_transactions",
        ["user_id", "created_at"],
    )
    op.create_table(
        "billing_balances",
        _user_pk("billing_balances"),
        _text("currency_code", 3),
        _nanos("balance_nanos"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("user_id", name="pk_billing_balances"),
    )
    op.create_table(
        "billing_addresses",
        _user_pk("billing_addresses"),
        _text("name", 200),
        _text("company", 200),
        _text("line1", 300),
        _text("line2", 300),
        _text("city", 200),
        _text("state", 200),
        _text("postal_code", 40),
        _text("country", 100),
        _text("phone", 60),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("user_id", name="pk_billing_addresses"),
    )


def _seed_embedded_price() -> None:
    now = datetime.now(timezone.utc)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # SQLite stores UTC naive (see store.types.UTCDateTime)
    table = sa.table(
        "serverless_pricing",
        *(sa.column(name) for name in ("id", "name", "model", "currency_code", "is_active")),
        *(sa.column(f"{kind}_price_nanos") for kind in SEED_PRICES),
        sa.column("created_at"),
        sa.column("updated_at"),
    )
    row = {
        "id": "seed-embedded-smollm2-135m",
        "name": "Embedded SmolLM2-135M-Instruct",
        "model": EMBEDDED_MODEL,
        "currency_code": "USD",
        "is_active": True,
        **{f"{kind}_price_nanos": nanos for kind, nanos in SEED_PRICES.items()},
        "created_at": now,
        "updated_at": now,
    }
    op.bulk_insert(table, [row])


def downgrade() -> None:
    for table in (
        "billing_addresses",
        "billing_balances",
        "billing_transactions",
        "serverless_pricing",
        "request_records",
    ):
        op.drop_table(table)
