"""The key cache while PostgreSQL cannot be reached (stale-if-error), through a TCP proxy that
cuts the database off: keys verified before the outage keep working up to the grace, unknown
keys get a clean 503, refused keys stay refused, the database is not hammered, one warning per
outage; and the Control Plane answers a database outage with 503 + Retry-After, not a 500."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx2
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tensormesh_server.controlplane.app import create_app
from tensormesh_server.controlplane.context import ControlPlaneContext, utc_now
from tensormesh_server.controlplane.key_verifier import (
    DEFAULT_STALE_SECONDS,
    ENV_KEY_STALE_SECONDS,
    DatabaseKeyVerifier,
    stale_seconds_from_env,
)
from tensormesh_server.controlplane.services import api_keys
from tensormesh_server.controlplane.services.activities import OPERATOR
from tensormesh_server.errors import APIError
from tensormesh_server.models_config import SettingsError
from tensormesh_server.store.database import Database
from tensormesh_server.store.migrate import upgrade
from tensormesh_server.store.models import ApiKey, User
from tests.support.tcp_proxy import TcpProxy

from .conftest import Postgres
from .helpers import access_token, bearer, make_user

GRACE = 60.0


@dataclass
class Outage:
    """A migrated PostgreSQL database, reached directly (`direct`) and through `proxy`
    (`proxied`), with a user."""

    proxy: TcpProxy
    direct: Database
    proxied: Database
    owner: User


@pytest.fixture(scope="module")
def outage_url(postgres: Postgres) -> str:
    url = postgres.create()
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    return url


@pytest.fixture
def outage(outage_url: str) -> Iterator[Outage]:
    port = make_url(outage_url).port or 5432
    with TcpProxy(port) as proxy:
        direct, proxied = Database(outage_url), Database(proxy.url_for(outage_url))
        email = f"outage-{proxy.port}@example.com"
        try:
            yield Outage(proxy, direct, proxied, make_user(direct, email, now=utc_now()))
        finally:
            proxied.dispose()
            direct.dispose()


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (yielding to the event loop) until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def new_key(db: Database, owner: User) -> tuple[ApiKey, str]:
    with db.session() as session:
        return api_keys.create_key(session, OPERATOR, owner, now=utc_now())


def key_store_error(caught: pytest.ExceptionInfo[APIError]) -> tuple[int, str | None, str | None]:
    error = caught.value
    return error.status, error.code, error.headers.get("retry-after")


async def test_verified_keys_work_during_an_outage_and_unknown_keys_get_503(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    row, secret = new_key(outage.direct, outage.owner)
    _, deleted = new_key(outage.direct, outage.owner)
    ticks = Ticks()
    verifier = DatabaseKeyVerifier(outage.proxied, stale_seconds=GRACE, monotonic=ticks)
    try:
        with outage.direct.session() as session:
            api_keys.delete_key(session, OPERATOR, outage.owner, deleted, now=utc_now())
        caller = await verifier.identify(secret)
        assert caller is not None
        assert caller.key_id == row.id
        assert not await verifier.verify(deleted)  # known to be invalid
        caplog.set_level(logging.INFO, "tensormesh_server")
        outage.proxy.pause()
        ticks.now += 5  # the cached lookups are stale now
        for _ in range(50):
            assert await verifier.verify(secret)
            assert not await verifier.verify(deleted)  # stays refused
        assert verifier.database_down
        with pytest.raises(APIError) as unknown:
            await verifier.verify("tm_sk_never-seen-before")
        assert key_store_error(unknown) == (503, "key_store_unavailable", "1")
        assert outage.proxy.refused <= 2  # one lookup per ttl at most, not one per request
        ticks.now += 1.5  # a probe is due: it runs in the background, the answer is stale
        assert await verifier.verify(secret)
        assert verifier.stale_answers == 101
        await until(lambda: outage.proxy.refused == 2)  # the probe failed
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "API key lookups fail" in warnings[0].getMessage()
        assert "Traceback" not in caplog.text

        # A key deleted during the outage keeps working until the database is back ...
        with outage.direct.session() as session:
            api_keys.delete_key(session, OPERATOR, outage.owner, row.id, now=utc_now())
        assert await verifier.verify(secret)
        outage.proxy.resume()
        ticks.now += 1.5
        assert await verifier.verify(secret)  # stale once more: this probe finds the database
        await until(lambda: not verifier.database_down)
        assert "API key lookups work again" in caplog.text
        ticks.now += 1.5
        assert not await verifier.verify(secret)  # ... and stops at the next lookup
    finally:
        outage.proxy.resume()
        await verifier.aclose()


async def test_the_grace_ends_and_zero_turns_it_off(outage: Outage) -> None:
    _, secret = new_key(outage.direct, outage.owner)
    ticks = Ticks()
    verifier = DatabaseKeyVerifier(outage.proxied, stale_seconds=GRACE, monotonic=ticks)
    strict = DatabaseKeyVerifier(outage.proxied, stale_seconds=0, monotonic=ticks)
    try:
        assert await verifier.verify(secret)
        assert await strict.verify(secret)
        with outage.proxy.outage():
            ticks.now += 2
            assert await verifier.verify(secret)
            with pytest.raises(APIError) as refused:
                await strict.verify(secret)
            assert key_store_error(refused) == (503, "key_store_unavailable", "1")
            ticks.now += GRACE  # the last successful lookup is older than the grace
            with pytest.raises(APIError) as expired:
                await verifier.verify(secret)
            assert key_store_error(expired)[0] == 503
        ticks.now += 1.5
        assert await verifier.verify(secret)  # the database is back
        assert await strict.verify(secret)
    finally:
        await verifier.aclose()
        await strict.aclose()


async def test_last_used_times_wait_for_the_database(outage: Outage) -> None:
    row, secret = new_key(outage.direct, outage.owner)
    verifier = DatabaseKeyVerifier(outage.proxied, stale_seconds=GRACE)
    try:
        assert await verifier.verify(secret)
        with outage.proxy.outage(), pytest.raises(OperationalError):
            await verifier.flush()
        await verifier.flush()  # the times kept from the failed write
        with outage.direct.session() as session:
            stored = session.get(ApiKey, row.id)
            assert stored is not None
            assert stored.last_used_at is not None
    finally:
        await verifier.aclose()


def test_the_grace_comes_from_the_environment() -> None:
    assert stale_seconds_from_env({}) == DEFAULT_STALE_SECONDS == 300
    assert stale_seconds_from_env({ENV_KEY_STALE_SECONDS: "0"}) == 0
    assert stale_seconds_from_env({ENV_KEY_STALE_SECONDS: " 12.5 "}) == 12.5
    for bad in ("soon", "-1", "1e9"):
        with pytest.raises(SettingsError, match=ENV_KEY_STALE_SECONDS):
            stale_seconds_from_env({ENV_KEY_STALE_SECONDS: bad})


async def test_control_plane_answers_503_while_the_database_is_away(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    token = access_token(outage.direct, outage.owner, utc_now())
    app = create_app(ControlPlaneContext(outage.proxied))
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://cp.test") as http:
        assert (await http.get("/v1/users/me", headers=bearer(token))).status_code == 200
        with outage.proxy.outage():
            answer = await http.get("/v1/users/me", headers=bearer(token))
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "1"
        assert answer.json() == {
            "code": 14,
            "message": "the database is unavailable; try again shortly",
            "details": [],
        }
        assert (await http.get("/v1/users/me", headers=bearer(token))).status_code == 200
    assert "database unavailable on GET /v1/users/me" in caplog.text
    assert "Traceback" not in caplog.text
