"""Alembic migrations of the platform's schema (run by `store.migrate.upgrade`)."""
