"""The control plane's sign-in, login-code exchange and login-start limits shared through the
real Redis: two control-plane instances (as two processes would) and a restarted one count
against one allowance and answer the same errors as a single process; without Redis, or when
it cannot be reached, each instance counts its own."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from pathlib import Path

import httpx2
import pytest

from tensormesh_server.controlplane.app import create_app
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.store.database import Database
from tensormesh_server.store.migrate import upgrade
from tests.controlplane.helpers import FakeClock, make_user, sign_in

from .conftest import REDIS_URL

EMAIL = "ada@example.com"
CONFIG = ControlPlaneConfig(sign_in_failures=3, exchange_failures=4, starts_per_window=4)
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database shared by the instances of a test."""
    database = Database(f"sqlite:///{tmp_path / 'cp.db'}")
    upgrade(database.engine)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """The clock of every instance (wall and monotonic time move together)."""
    return FakeClock(datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc))


class Instances:
    """Control-plane apps over one database, clock and Redis prefix (one per process)."""

    def __init__(self, db: Database, clock: FakeClock, stack: AsyncExitStack) -> None:
        self.db = db
        self.clock = clock
        self.stack = stack

    async def start(self, redis_url: str, prefix: str) -> httpx2.AsyncClient:
        """A new instance; its client (closed with the test)."""
        cp = ControlPlaneContext(
            self.db,
            CONFIG,
            self.clock.now,
            self.clock.monotonic,
            redis_url=redis_url,
            redis_prefix=prefix,
        )
        self.stack.push_async_callback(cp.aclose)
        transport = httpx2.ASGITransport(app=create_app(cp))
        client = httpx2.AsyncClient(transport=transport, base_url="http://cp.test")
        return await self.stack.enter_async_context(client)


@pytest.fixture
async def instances(db: Database, clock: FakeClock) -> AsyncIterator[Instances]:
    """Starts control-plane instances; closes them after the test."""
    async with AsyncExitStack() as stack:
        yield Instances(db, clock, stack)


async def _exchange(client: httpx2.AsyncClient, n: int) -> httpx2.Response:
    """Exchange an unknown login code (a failure the exchange limiter counts)."""
    return await client.post("/auth/cli/exchange", json={"cli_code": f"BCDF-{'GHJK'[n % 4] * 4}"})


def _same_limit_error(reply: httpx2.Response, window: float) -> None:
    """The 429 a single process answers: code 8, a Retry-After within the window."""
    assert reply.status_code == 429, reply.text
    assert reply.json()["code"] == 8
    assert "too many attempts" in reply.json()["message"]
    assert 0 < int(reply.headers["retry-after"]) <= window


async def test_two_instances_and_a_restart_share_the_exchange_limit(
    instances: Instances, clock: FakeClock, redis_prefix: str
) -> None:
    first = await instances.start(REDIS_URL, redis_prefix)
    second = await instances.start(REDIS_URL, redis_prefix)
    replies = [await _exchange((first, second)[n % 2], n) for n in range(CONFIG.exchange_failures)]
    assert [reply.status_code for reply in replies] == [404] * CONFIG.exchange_failures
    for client in (first, second):
        _same_limit_error(await _exchange(client, 0), CONFIG.exchange_window_seconds)

    restarted = await instances.start(REDIS_URL, redis_prefix)
    limited = await _exchange(restarted, 0)
    _same_limit_error(limited, CONFIG.exchange_window_seconds)
    assert int(limited.headers["retry-after"]) == CONFIG.exchange_window_seconds

    clock.advance(CONFIG.exchange_window_seconds / 2)
    waiting = await _exchange(second, 0)
    assert int(waiting.headers["retry-after"]) == CONFIG.exchange_window_seconds / 2
    clock.advance(CONFIG.exchange_window_seconds / 2 + 1)
    assert (await _exchange(first, 0)).status_code == 404  # the window passed


async def test_failed_sign_ins_on_one_instance_limit_the_other(
    instances: Instances, db: Database, clock: FakeClock, redis_prefix: str
) -> None:
    make_user(db, EMAIL, now=clock.now())
    first = await instances.start(REDIS_URL, redis_prefix)
    second = await instances.start(REDIS_URL, redis_prefix)
    code = (await first.post("/auth/cli/start")).json()["cli_code"]
    for n in range(CONFIG.sign_in_failures):
        wrong = await sign_in((first, second)[n % 2], code, EMAIL, "wrong password!")
        assert wrong.status_code == 401
    for client in (first, second):
        limited = await sign_in(client, code, EMAIL)  # even the right password waits now
        assert limited.status_code == 429
        assert "Too many failed sign-ins" in limited.text
        assert 0 < int(limited.headers["retry-after"]) <= CONFIG.sign_in_window_seconds
    other = await sign_in(second, code, "someone@example.com", "whatever!")
    assert other.status_code == 401  # the limit is per email and address

    clock.advance(CONFIG.sign_in_window_seconds + 1)
    code = (await second.post("/auth/cli/start")).json()["cli_code"]
    await sign_in(first, code, EMAIL, "wrong password!")
    assert (await sign_in(second, code, EMAIL)).status_code == 303  # resets the count
    for n in range(CONFIG.sign_in_failures):
        assert (await sign_in(first, code, EMAIL, "wrong!")).status_code == 401, n


async def test_login_starts_are_counted_across_instances(
    instances: Instances, redis_prefix: str
) -> None:
    first = await instances.start(REDIS_URL, redis_prefix)
    second = await instances.start(REDIS_URL, redis_prefix)
    for n in range(CONFIG.starts_per_window):
        assert (await (first, second)[n % 2].post("/auth/cli/start")).status_code == 200
    for client in (first, second):
        _same_limit_error(await client.post("/auth/cli/start"), CONFIG.start_window_seconds)


async def test_without_redis_each_instance_counts_its_own(instances: Instances) -> None:
    first = await instances.start("", "unused:")
    second = await instances.start("", "unused:")
    for n in range(CONFIG.exchange_failures):
        assert (await _exchange(first, n)).status_code == 404
    _same_limit_error(await _exchange(first, 0), CONFIG.exchange_window_seconds)
    assert (await _exchange(second, 0)).status_code == 404


async def test_unreachable_redis_falls_back_to_per_instance_counts(
    instances: Instances, caplog: pytest.LogCaptureFixture
) -> None:
    first = await instances.start(UNREACHABLE, "tm:test:down:")
    second = await instances.start(UNREACHABLE, "tm:test:down:")
    with caplog.at_level(logging.WARNING, logger="tensormesh_server"):
        for n in range(CONFIG.exchange_failures):
            assert (await _exchange(first, n)).status_code == 404
        _same_limit_error(await _exchange(first, 0), CONFIG.exchange_window_seconds)
        assert (await _exchange(second, 0)).status_code == 404
    warnings = [r.getMessage() for r in caplog.records if "Redis is unreachable" in r.getMessage()]
    assert len(warnings) == 2  # once per instance, not per request
    assert all("counting failed attempts in this process only" in w for w in warnings)
