"""The metering sink and the balance reads over the platform's database."""

from __future__ import annotations

from tensormesh_server.controlplane.context import Clock, utc_now
from tensormesh_server.controlplane.services import billing_ledger, billing_pricing, billing_usage
from tensormesh_server.store.database import Database

from .record import UsageRecord


class DatabaseSink:
    """Writes a batch of records with its charges and CHARGE transactions (one transaction)."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    def write(self, records: list[UsageRecord]) -> None:
        """Store `records`; records already stored (a retried batch) are skipped."""
        with self.db.session() as session:
            done = billing_usage.already_written(session, records)
            prices = billing_pricing.active_prices(session, {r.model for r in records})
            session.expunge_all()
        fresh = [record for record in records if record.id not in done]
        if not fresh:
            return
        with self.db.session() as session:
            billing_usage.write_usage(session, fresh, prices, self.clock())


def balance_reader(db: Database) -> billing_ledger.BalanceReader:
    """A function reading users' balances (nanos) from `db`."""

    def read(user_ids: list[str]) -> dict[str, int]:
        with db.session() as session:
            return billing_ledger.balances_nanos(session, user_ids)

    return read
