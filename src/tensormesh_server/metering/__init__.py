"""Metering of the serverless gateway: a record per inference request (tokens, latency, time to
first token, status), written in batches off the request path and charged to the user's
balance; and the balance check (402 `insufficient_quota`).

`record` (what is kept per request), `tally` (usage seen in relayed bytes), `meter` (the
batching writer), `balance` (the cached balance check), `database` (the sink over the store),
`settings` (environment switches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .balance import BalanceGate
from .meter import Meter
from .record import UsageRecord
from .settings import MeteringSettings
from .tally import UsageTally, token_counts

if TYPE_CHECKING:
    from tensormesh_server.store.database import Database

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

    meter = Meter(
        DatabaseSink(db), flush_seconds=settings.flush_seconds, batch_size=settings.batch_size
    )
    gate = BalanceGate(
        balance_reader(db),
        refresh_seconds=settings.balance_refresh_seconds,
        enforce=settings.enforce,
    )
    return Metering(meter, gate)
