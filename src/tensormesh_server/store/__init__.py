"""The platform's state in one SQL database (SQLite by default, PostgreSQL by URL).

`models` (SQLAlchemy 2 tables), `database` (URL resolution, engine and sessions), `migrate`
(the Alembic migrations shipped in `migrations/`, run on start and by `tm server db upgrade`).
"""
