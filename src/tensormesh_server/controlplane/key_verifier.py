"""Inference API keys from the database for the serverless surface, behind `KeyVerifier`.

The hot path makes no database query: each key's lookup (valid or not) is cached for `ttl`
seconds (1 s by default), so a deleted key stops working within `ttl` plus one lookup, and an
expired key at once (its expiry is cached and checked on every request). Concurrent requests
with the same key share one lookup. `lastUsedAt` is collected in memory and written in batches
every `flush_seconds` by a background task, never on the request path.

When the database cannot be reached (stale-if-error): a key looked up successfully within the
last `stale_seconds` (`TENSORMESH_KEY_STALE_SECONDS`, 300 by default; 0 turns this off) is
answered from that last lookup, yes or no, and a key never seen gets a 503
`key_store_unavailable` with Retry-After. The trade-off: a key deleted during an outage keeps
working until the database is back (or the grace ends). During an outage requests do not wait
for the database: one lookup per `ttl` probes it in the background, and one warning is logged
when the outage starts and one line when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from tensormesh_server.auth import Caller, KeyVerifier
from tensormesh_server.errors import APIError
from tensormesh_server.limits.base import KeyLimits
from tensormesh_server.models_config import env_number
from tensormesh_server.security.credentials import digest, looks_like_api_key
from tensormesh_server.store.database import Database, error_reason

from .context import Clock, utc_now
from .services import api_keys
from .services.api_keys import KeyGrant

logger = logging.getLogger("tensormesh_server")

MAX_CACHED_KEYS = 100_000
ENV_KEY_STALE_SECONDS = "TENSORMESH_KEY_STALE_SECONDS"
DEFAULT_STALE_SECONDS = 300.0
MAX_STALE_SECONDS = 86_400.0


def stale_seconds_from_env(env: Mapping[str, str] = os.environ) -> float:
    """`TENSORMESH_KEY_STALE_SECONDS` (0 to 86400; SettingsError when invalid)."""
    return env_number(env, ENV_KEY_STALE_SECONDS, DEFAULT_STALE_SECONDS, 0, MAX_STALE_SECONDS)


def key_store_unavailable() -> APIError:
    """The 503 of a key that cannot be checked now."""
    return APIError(
        503,
        "the API key database is unavailable; try again shortly",
        type="service_unavailable",
        code="key_store_unavailable",
        headers={"retry-after": "1"},
    )


@dataclass(frozen=True)
class _Entry:
    grant: KeyGrant | None
    fetched: float


class DatabaseKeyVerifier:
    """Valid = a key in the database that is neither deleted nor expired (or, while the
    database cannot be reached, one that was valid at its last lookup within `stale_seconds`)."""

    def __init__(
        self,
        db: Database,
        *,
        ttl: float = 1.0,
        stale_seconds: float | None = None,
        flush_seconds: float = 5.0,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.ttl = ttl
        self.stale_seconds = stale_seconds_from_env() if stale_seconds is None else stale_seconds
        self.flush_seconds = flush_seconds
        self.stale_answers = 0
        """Requests answered from a stale lookup during the current (or the last) outage."""
        self._clock = clock
        self._monotonic = monotonic
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[_Entry]] = {}
        self._last_used: dict[str, datetime] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._probes: set[asyncio.Task[None]] = set()
        self._down_since: float | None = None  # the outage seen by the lookups
        self._retry_at = 0.0  # during an outage: no lookup before this

    @property
    def database_down(self) -> bool:
        """True from a failed lookup until the next successful one."""
        return self._down_since is not None

    async def verify(self, key: str) -> bool:
        """True when `key` is a live database key (at most one lookup per key per `ttl`)."""
        return await self.identify(key) is not None

    async def identify(self, key: str) -> Caller | None:
        """The key and its user when `key` is a live database key."""
        if not looks_like_api_key(key):
            return None
        entry = await self._entry(digest(key))
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

    async def _entry(self, key_hash: str) -> _Entry:
        """The cached lookup while fresh, else a new one; during an outage the last lookup
        within `stale_seconds`, else the 503."""
        now = self._monotonic()
        entry = self._cache.get(key_hash)
        if entry is not None and now < entry.fetched + self.ttl:
            return entry
        stale = entry if entry is not None and now < entry.fetched + self.stale_seconds else None
        if self._down_since is not None and now < self._retry_at:
            if stale is None:
                raise key_store_unavailable()
            self.stale_answers += 1
            return stale
        if self._down_since is not None and stale is not None:
            self._probe(key_hash)  # see whether the database is back, without waiting for it
            self.stale_answers += 1
            return stale
        try:
            return await self._lookup(key_hash)
        except SQLAlchemyError as exc:
            self._failed(exc)
            if stale is None:
                raise key_store_unavailable() from None
            self.stale_answers += 1
            return stale

    def _probe(self, key_hash: str) -> None:
        self._retry_at = self._monotonic() + self.ttl
        probe = asyncio.get_running_loop().create_task(self._probe_once(key_hash))
        self._probes.add(probe)
        probe.add_done_callback(self._probes.discard)

    async def _probe_once(self, key_hash: str) -> None:
        try:
            await self._lookup(key_hash)
        except Exception as exc:  # nobody awaits a probe: every failure ends here
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        """A lookup failed: at most one lookup per `ttl` from now on; warn once per outage."""
        now = self._monotonic()
        self._retry_at = now + self.ttl
        if self._down_since is not None:
            return
        self._down_since = now
        self.stale_answers = 0
        logger.warning(
            "API key lookups fail (%s): keys verified in the last %g s keep working until the "
            "database is back, unknown keys get 503",
            error_reason(exc),
            self.stale_seconds,
        )

    def _succeeded(self) -> None:
        if self._down_since is None:
            return
        logger.info(
            "API key lookups work again after %.1f s (%d request(s) answered from cached keys)",
            self._monotonic() - self._down_since,
            self.stale_answers,
        )
        self._down_since = None

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
            self._succeeded()
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
        """Write the collected `lastUsedAt` times now (kept for the next try on failure)."""
        if not self._last_used:
            return
        batch, self._last_used = self._last_used, {}
        try:
            await asyncio.to_thread(self._write, batch)
        except BaseException:
            self._last_used = {**batch, **self._last_used}
            raise

    def _write(self, batch: dict[str, datetime]) -> None:
        with self.db.session() as session:
            api_keys.mark_used(session, batch)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            if self._down_since is not None:
                continue  # kept for when the lookups work again
            try:
                await self.flush()
            except Exception as exc:  # the database may be briefly away: try again later
                logger.warning("could not record API key use: %s", error_reason(exc))

    async def aclose(self) -> None:
        """Stop the background tasks and write what is left."""
        tasks = [*self._probes, *([self._flusher] if self._flusher is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._probes.clear()
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
