"""Alembic environment: migrate through the engine handed over in the config's attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from tensormesh_server.store.models import Base

LOCK_KEY = 0x746D6D67  # "tmmg": the advisory lock held while migrating PostgreSQL

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only through store.migrate
    raise RuntimeError("run migrations through tensormesh_server.store.migrate.upgrade")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Servers starting together on one database migrate one after the other.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        config.attributes["revision_before"] = context.get_context().get_current_revision()
        context.run_migrations()
    connection.commit()
