"""Metering of the serverless gateway: a record per inference request (tokens, latency, time to
first token, status), written in batches off the request path and charged to the user's
balance; and the balance check (402 `insufficient_quota`).

`record` (what is kept per request), `tally` (usage seen in relayed bytes), `meter` (the
batching writer), `balance` (the cached balance check), `database` (the sink over the store),
`runs` (each gateway run's heartbeat; runs that stopped without their last write reported),
`settings` (environment switches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tensormesh_server.errors import APIError

from .balance import BalanceGate
from .meter import Meter
from .record import UsageRecord
from .settings import MeteringSettings
from .tally import UsageTally, token_counts

if TYPE_CHECKING:
    from tensormesh_server.store.database import Database

BACKLOG_RETRY_FLUSHES = 5
"""Retry-After of the 503 `metering_backlog`, in flush windows (1 to 60 s)."""

__all__ = [
    "BalanceGate",
    "Meter",
    "Metering",
    "MeteringSettings",
    "UsageRecord",
    "UsageTally",
    "token_counts",
]


@dataclass
class Metering:
    """The meter and the balance gate of one gateway process."""

    meter: Meter
    gate: BalanceGate

    async def admit(self, user_id: str | None) -> None:
        """Raise the APIError refusing a new inference request: 503 `metering_backlog` while
        too many records wait to be written, 402 when the user's balance is used up."""
        if self.meter.full:
            retry = min(60, max(1, math.ceil(BACKLOG_RETRY_FLUSHES * self.meter.flush_seconds)))
            raise APIError(
                503,
                "The server cannot record usage right now (its database is unavailable); "
                f"try again in {retry} s.",
                type="service_unavailable",
                code="metering_backlog",
                headers={"retry-after": str(retry)},
            )
        await self.gate.check(user_id)

    def start(self) -> None:
        """Start the background writer (in the running event loop)."""
        self.meter.start()

    async def aclose(self) -> None:
        """Write every record left and stop."""
        await self.gate.aclose()
        await self.meter.aclose()


def database_metering(db: Database, settings: MeteringSettings) -> Metering:
    """Metering over the platform database `db`."""
    from .database import DatabaseSink, balance_reader
    from .runs import GatewayRuns

    runs = GatewayRuns(db, settings.flush_seconds)
    meter = Meter(
        DatabaseSink(db, run=runs),
        flush_seconds=settings.flush_seconds,
        batch_size=settings.batch_size,
        max_pending=settings.max_pending,
        runs=runs,
    )
    gate = BalanceGate(
        balance_reader(db),
        refresh_seconds=settings.balance_refresh_seconds,
        enforce=settings.enforce,
    )
    return Metering(meter, gate)
