"""The billing tables: metered requests, serverless prices, the ledger, balances, addresses;
and the gateway runs of the metering writer (to report records a crashed gateway lost).

Money is stored as signed integer nanos (`*_nanos`, BigInteger) with a currency code; never as
a float. The ledger (`billing_transactions`) is the truth: CREDIT and REFUND rows are positive,
CHARGE rows negative, and `billing_balances.balance_nanos` is kept equal to the sum of a user's
rows by updating both in one database transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, new_id


class RequestRecord(Base):
    """One metered inference request (written by the gateway's metering writer).

    `id` is made by the gateway, so that writing a batch twice cannot count a request twice.
    `user_id` is None for the operator's static keys (metered, not charged). `prompt_tokens`
    includes `cached_tokens`. `charge_nanos` is what the request was charged (0 when not
    charged) and `transaction_id` the CHARGE transaction that holds it.
    """

    __tablename__ = "request_records"
    __table_args__ = (
        Index("ix_request_records_user_id_finished_at", "user_id", "finished_at"),
        Index("ix_request_records_model_finished_at", "model", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    key_id: Mapped[str] = mapped_column(String(64), default="")
    user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    model: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(40), default="")
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int] = mapped_column(Integer)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cached_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    ttft_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    charge_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_saving_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    pricing_id: Mapped[str | None] = mapped_column(String(36), default=None)
    transaction_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)


class ServerlessPrice(Base):
    """The prices of one model, nanos per 1,000,000 tokens; one active row per model."""

    __tablename__ = "serverless_pricing"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), index=True)
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    input_price_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    output_price_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    cached_price_nanos: Mapped[int | None] = mapped_column(BigInteger, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BillingTransaction(Base):
    """A ledger row: `type` is a `TRANSACTION_TYPE_*` string; `amount_nanos` is signed."""

    __tablename__ = "billing_transactions"
    __table_args__ = (Index("ix_billing_transactions_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40), default="TRANSACTION_STATUS_COMPLETED")
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    cost_saving_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class BillingBalance(Base):
    """A user's balance: always the sum of the user's ledger rows (same DB transaction)."""

    __tablename__ = "billing_balances"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    balance_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]


class BillingAddressRow(Base):
    """A user's billing address (absent until first set)."""

    __tablename__ = "billing_addresses"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    line1: Mapped[str] = mapped_column(String(300), default="")
    line2: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(40), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime]


class GatewayRun(Base):
    """One run of a gateway process, as its metering writer sees it (so that a run that stopped
    without writing its last records is found and reported).

    `last_write_at` is the heartbeat: updated at every flush tick, in the same transaction as
    the batch when there is one. `stopped_at` is set by a clean shutdown after the final write;
    `lost_at` when another gateway found the heartbeat stale (older than
    max(5 s, 5 x `flush_seconds`)) and reported the run's unwritten records.
    """

    __tablename__ = "gateway_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    flush_seconds: Mapped[float] = mapped_column(Float, default=1.0)
    started_at: Mapped[datetime] = mapped_column(index=True)
    last_write_at: Mapped[datetime]
    records_written: Mapped[int] = mapped_column(BigInteger, default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    lost_at: Mapped[datetime | None] = mapped_column(default=None)
