"""The metering sink and the balance reads over the platform's database."""

from __future__ import annotations

from tensormesh_server.controlplane.context import Clock, utc_now
from tensormesh_server.controlplane.services import billing_ledger, billing_pricing, billing_usage
from tensormesh_server.store.database import Database

from .record import UsageRecord
from .runs import GatewayRuns


class DatabaseSink:
    """Writes a batch of records with its charges and CHARGE transactions, and the heartbeat
    of the gateway's run (`run`), in one transaction."""

    def __init__(
        self, db: Database, clock: Clock = utc_now, run: GatewayRuns | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.run = run

    def write(self, records: list[UsageRecord]) -> None:
        """Store `records`; records already stored (a retried batch) are skipped."""
        with self.db.session() as session:
            done = billing_usage.already_written(session, records)
            prices = billing_pricing.active_prices(session, {r.model for r in records})
            session.expunge_all()
        fresh = [record for record in records if record.id not in done]
        if not fresh and self.run is None:
            return
        with self.db.session() as session:
            if fresh:
                billing_usage.write_usage(session, fresh, prices, self.clock())
            if self.run is not None:
                self.run.touch(session, len(fresh))


def balance_reader(db: Database) -> billing_ledger.BalanceReader:
    """A function reading users' balances (nanos) from `db`."""

    def read(user_ids: list[str]) -> dict[str, int]:
        with db.session() as session:
            return billing_ledger.balances_nanos(session, user_ids)

    return read
