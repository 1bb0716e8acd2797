"""The balance check of the gateway: 402 `insufficient_quota` when a user's balance is used up.

Balances are cached in memory: a user's first request looks the balance up once, and a
background task refreshes the balances of recently seen users every `refresh_seconds`, so the
request path makes no database query. When the database cannot be read, the cached balances
are used as they are and users without one are let through (the key check refuses keys it
has never seen while the database is gone); one warning per outage, one line at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

from tensormesh_server.errors import APIError

logger = logging.getLogger("tensormesh_server")

FORGET_AFTER_SECONDS = 600.0
"""Users idle this long are no longer refreshed."""

Fetch = Callable[[list[str]], dict[str, int]]
"""Balances in nanos of the given users (users without a balance row left out)."""

_NO_BALANCE = (
    "You have no balance left for inference. Ask an admin to add credit "
    "(`tm admin billing balances add`), then check it with `tm billing balance`."
)


class BalanceGate:
    """Refuses inference for users whose cached balance is <= 0."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        refresh_seconds: float = 1.0,
        enforce: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch = fetch
        self.refresh_seconds = refresh_seconds
        self.enforce = enforce
        self._monotonic = monotonic
        self._balances: dict[str, int] = {}
        self._seen: dict[str, float] = {}
        self._inflight: dict[str, asyncio.Future[int | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._down_since: float | None = None  # balance reads fail since then

    async def check(self, user_id: str | None) -> None:
        """Raise the 402 APIError when `user_id` has no balance left (static keys pass)."""
        if not self.enforce or user_id is None:
            return
        self._seen[user_id] = self._monotonic()
        balance = self._balances.get(user_id)
        if balance is None:
            balance = await self._lookup(user_id)
        if balance is not None and balance <= 0:
            raise APIError(402, _NO_BALANCE, type="insufficient_quota", code="insufficient_quota")

    async def _lookup(self, user_id: str) -> int | None:
        pending = self._inflight.get(user_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._inflight[user_id] = future
        try:
            found = await self._read([user_id])
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it through shield
            raise
        finally:
            del self._inflight[user_id]
        balance = None if found is None else found.get(user_id, 0)
        if balance is not None:
            self._balances[user_id] = balance
        future.set_result(balance)
        self._start()
        return balance

    async def _read(self, user_ids: list[str]) -> dict[str, int] | None:
        try:
            found = await asyncio.to_thread(self.fetch, user_ids)
        except Exception as exc:
            if self._down_since is None:
                self._down_since = self._monotonic()
                logger.warning(
                    "balance lookups fail (%s): using the cached balances until they work again",
                    type(exc).__name__,
                )
            return None
        if self._down_since is not None:
            away = self._monotonic() - self._down_since
            logger.info("balance lookups work again after %.1f s", away)
            self._down_since = None
        return found

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def refresh(self) -> None:
        """Re-read the balances of the users seen recently; forget idle users."""
        horizon = self._monotonic() - FORGET_AFTER_SECONDS
        for user_id in [u for u, seen in self._seen.items() if seen < horizon]:
            self._seen.pop(user_id, None)
            self._balances.pop(user_id, None)
        users = list(self._seen)
        if not users:
            return
        found = await self._read(users)
        if found is not None:
            self._balances.update({user_id: found.get(user_id, 0) for user_id in users})

    def forget(self, user_ids: Iterable[str]) -> None:
        """Drop cached balances (the next request looks them up again)."""
        for user_id in user_ids:
            self._balances.pop(user_id, None)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            await self.refresh()

    async def aclose(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
