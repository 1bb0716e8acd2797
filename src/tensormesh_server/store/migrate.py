"""Bring the schema up to date with the Alembic migrations shipped in this package."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .database import DatabaseError, display_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that migrates through `engine` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration shipped."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock on `<database file>.lock` (SQLite files on POSIX; PostgreSQL
    takes an advisory lock in migrations/env.py), so processes migrate one after the other."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:" or sys.platform == "win32":
        yield
        return
    import fcntl

    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to the newest revision; returns (before, after). DatabaseError on failure."""
    config = alembic_config(engine)
    try:
        with _sqlite_file_lock(engine):
            command.upgrade(config, "head")
        return config.attributes.get("revision_before"), head_revision()
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = str(orig) if orig is not None else str(exc)
        reason = reason.strip().splitlines()[0] if reason.strip() else type(exc).__name__
        raise DatabaseError(
            f"cannot migrate the database at {display_url(str(engine.url))}: {reason}"
        ) from None
