"""Inference API keys from the database for the serverless surface, behind `KeyVerifier`.

The hot path makes no database query: each key's lookup (valid or not) is cached for `ttl`
seconds (1 s by default), so a deleted key stops working within `ttl` plus one lookup, and an
expired key at once (its expiry is cached and checked on every request). Concurrent requests
with the same key share one lookup. `lastUsedAt` is collected in memory and written in batches
every `flush_seconds` by a background task, never on the request path. When a lookup cannot
reach the database the request gets a 503 (a stale "yes" is never used).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from tensormesh_server.auth import Caller, KeyVerifier
from tensormesh_server.errors import APIError
from tensormesh_server.limits.base import KeyLimits
from tensormesh_server.security.credentials import digest, looks_like_api_key
from tensormesh_server.store.database import Database

from .context import Clock, utc_now
from .services import api_keys
from .services.api_keys import KeyGrant

logger = logging.getLogger("tensormesh_server")

MAX_CACHED_KEYS = 100_000


@dataclass(frozen=True)
class _Entry:
    grant: KeyGrant | None
    fetched: float


class DatabaseKeyVerifier:
    """Valid = a key in the database that is neither deleted nor expired."""

    def __init__(
        self,
        db: Database,
        *,
        ttl: float = 1.0,
        flush_seconds: float = 5.0,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.ttl = ttl
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[_Entry]] = {}
        self._last_used: dict[str, datetime] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def verify(self, key: str) -> bool:
        """True when `key` is a live database key (at most one lookup per key per `ttl`)."""
        return await self.identify(key) is not None

    async def identify(self, key: str) -> Caller | None:
        """The key and its user when `key` is a live database key."""
        if not looks_like_api_key(key):
            return None
        key_hash = digest(key)
        entry = self._cache.get(key_hash)
        if entry is None or entry.fetched + self.ttl <= self._monotonic():
            try:
                entry = await self._lookup(key_hash)
            except SQLAlchemyError as exc:
                logger.warning("API key lookup failed: %s", type(exc).__name__)
                raise APIError(
                    503,
                    "the API key database is unavailable; try again shortly",
                    type="service_unavailable",
                    code="key_store_unavailable",
                    headers={"retry-after": "1"},
                ) from None
        grant = entry.grant
        if grant is None:
            return None
        now = self._clock()
        if grant.expires_at is not None and grant.expires_at <= now:
            return None
        self._last_used[grant.key_id] = now
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())
        limits = KeyLimits(grant.requests_per_minute, grant.tokens_per_minute)
        return Caller(grant.key_id, grant.user_id, limits)

    async def _lookup(self, key_hash: str) -> _Entry:
        pending = self._inflight.get(key_hash)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._inflight[key_hash] = future
        try:
            grant = await asyncio.to_thread(self._fetch, key_hash)
            entry = _Entry(grant, self._monotonic())
            if len(self._cache) >= MAX_CACHED_KEYS:
                self._cache.clear()
            self._cache[key_hash] = entry
            future.set_result(entry)
            return entry
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) get it through shield
            raise
        finally:
            del self._inflight[key_hash]

    def _fetch(self, key_hash: str) -> KeyGrant | None:
        with self.db.session() as session:
            return api_keys.find_grant(session, key_hash, self._clock())

    async def flush(self) -> None:
        """Write the collected `lastUsedAt` times now."""
        if not self._last_used:
            return
        batch, self._last_used = self._last_used, {}
        await asyncio.to_thread(self._write, batch)

    def _write(self, batch: dict[str, datetime]) -> None:
        with self.db.session() as session:
            api_keys.mark_used(session, batch)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
            except Exception as exc:  # the database may be briefly away: try again later
                logger.warning("could not record API key use: %s", type(exc).__name__)

    async def aclose(self) -> None:
        """Stop the background writer and write what is left."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        with contextlib.suppress(Exception):
            await self.flush()


class AnyKeyVerifier:
    """Accepts a key that any of its verifiers accepts (operator-configured static keys first)."""

    def __init__(self, *verifiers: KeyVerifier) -> None:
        self.verifiers = verifiers

    async def verify(self, key: str) -> bool:
        """True when one of the verifiers accepts `key`."""
        return await self.identify(key) is not None

    async def identify(self, key: str) -> Caller | None:
        """The caller according to the first verifier that accepts `key`."""
        for verifier in self.verifiers:
            caller = await verifier.identify(key)
            if caller is not None:
                return caller
        return None
