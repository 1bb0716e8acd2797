"""Where the database is, and the engine and sessions over it.

`TENSORMESH_DATABASE_URL` (for example `postgresql+psycopg://user@host/db`) wins; otherwise a
SQLite file `tensormesh.db` in the data directory (`$TM_DATA_HOME`, default
`~/.local/share/tensormesh`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

ENV_DATABASE_URL = "TENSORMESH_DATABASE_URL"
ENV_DATA_HOME = "TM_DATA_HOME"
SQLITE_FILE = "tensormesh.db"


class DatabaseError(Exception):
    """The database cannot be reached or prepared (a one-line message for the operator)."""


def error_reason(exc: BaseException) -> str:
    """A (database) error in one line: its type and the first line of the driver's message."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def data_home(env: Mapping[str, str] = os.environ) -> Path:
    """The data directory of the platform."""
    configured = env.get(ENV_DATA_HOME, "").strip()
    if configured:
        return Path(configured).expanduser()
    xdg = env.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "tensormesh"


def database_url(env: Mapping[str, str] = os.environ) -> str:
    """The database URL from the environment (SQLite in the data directory by default)."""
    configured = env.get(ENV_DATABASE_URL, "").strip()
    if configured:
        return configured
    return f"sqlite:///{data_home(env) / SQLITE_FILE}"


def display_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable database URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their directory, WAL and foreign keys."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseError(f"invalid database URL: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        # A database that stops answering (rather than refusing) must not hold a worker thread
        # for the operating system's TCP timeout: connections give up after 5 s by default.
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
        return create_engine(
            parsed, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args
        )
    except (ArgumentError, NoSuchModuleError, ImportError, OSError) as exc:
        shown = display_url(url)
        raise DatabaseError(f"invalid database URL {shown}: {exc}") from None


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed at the end of the block, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
