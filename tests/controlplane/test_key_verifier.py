"""The serverless surface's database keys: cache without a query per request, revocation and
expiry seen within 2 s, lastUsedAt written in batches, static operator keys alongside."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from tensormesh_server.auth import StaticKeyVerifier, authenticate
from tensormesh_server.controlplane.context import utc_now
from tensormesh_server.controlplane.key_verifier import AnyKeyVerifier, DatabaseKeyVerifier
from tensormesh_server.controlplane.services import api_keys
from tensormesh_server.controlplane.services.activities import OPERATOR
from tensormesh_server.errors import APIError
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import ApiKey, User

from .helpers import make_user


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


@contextmanager
def counting_queries(db: Database) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)


@pytest.fixture
def owner(db: Database) -> User:
    return make_user(db, "keys@example.com", password=None, now=utc_now())


def new_key(db: Database, owner: User, **kwargs: Any) -> tuple[ApiKey, str]:
    with db.session() as session:
        return api_keys.create_key(session, OPERATOR, owner, now=utc_now(), **kwargs)


def delete(db: Database, owner: User, ref: str) -> None:
    with db.session() as session:
        api_keys.delete_key(session, OPERATOR, owner, ref, now=utc_now())


async def test_valid_key_opens_with_one_query_per_ttl(db: Database, owner: User) -> None:
    _, secret = new_key(db, owner)
    verifier = DatabaseKeyVerifier(db, ttl=60)
    try:
        with counting_queries(db) as queries:
            results = [await verifier.verify(secret) for _ in range(200)]
        assert all(results)
        assert queries.count == 1
        with counting_queries(db) as queries:
            assert not await verifier.verify("tmcp_not-an-inference-key")
            assert not await verifier.verify("random")
        assert queries.count == 0  # not even shaped like a key: no lookup
    finally:
        await verifier.aclose()


async def test_concurrent_requests_share_one_lookup(db: Database, owner: User) -> None:
    _, secret = new_key(db, owner)
    verifier = DatabaseKeyVerifier(db)
    try:
        with counting_queries(db) as queries:
            results = await asyncio.gather(*(verifier.verify(secret) for _ in range(50)))
        assert all(results)
        assert queries.count == 1
    finally:
        await verifier.aclose()


async def test_unknown_keys_are_cached_too(db: Database, owner: User) -> None:
    verifier = DatabaseKeyVerifier(db, ttl=60)
    with counting_queries(db) as queries:
        for _ in range(20):
            assert not await verifier.verify("tm_sk_unknown")
    assert queries.count == 1


async def test_deleted_key_stops_within_two_seconds(db: Database, owner: User) -> None:
    row, secret = new_key(db, owner)
    verifier = DatabaseKeyVerifier(db)  # the production settings
    try:
        assert await verifier.verify(secret)
        delete(db, owner, row.id)
        deleted_at = time.monotonic()
        with counting_queries(db) as queries:
            requests = 0
            while await verifier.verify(secret):
                requests += 1
                await asyncio.sleep(0.005)
                assert time.monotonic() - deleted_at < 2.0
            delay = time.monotonic() - deleted_at
        assert delay < 2.0
        assert queries.count <= 2 < requests  # many requests, at most a lookup or two
    finally:
        await verifier.aclose()


async def test_key_deleted_by_its_secret_stops_too(db: Database, owner: User) -> None:
    _, secret = new_key(db, owner)
    verifier = DatabaseKeyVerifier(db, ttl=0.2)
    assert await verifier.verify(secret)
    delete(db, owner, secret)
    await asyncio.sleep(0.25)
    assert not await verifier.verify(secret)
    await verifier.aclose()


async def test_expired_key_stops_without_a_lookup(db: Database, owner: User) -> None:
    clock_now = [utc_now()]
    _, secret = new_key(db, owner, expires_at=clock_now[0] + timedelta(seconds=30))
    verifier = DatabaseKeyVerifier(db, ttl=3600, clock=lambda: clock_now[0])
    assert await verifier.verify(secret)
    clock_now[0] += timedelta(seconds=31)
    with counting_queries(db) as queries:
        assert not await verifier.verify(secret)
    assert queries.count == 0
    await verifier.aclose()


async def test_last_used_is_written_in_batches(db: Database, owner: User) -> None:
    row, secret = new_key(db, owner)
    verifier = DatabaseKeyVerifier(db, flush_seconds=0.1)
    try:
        with counting_queries(db) as queries:
            for _ in range(30):
                assert await verifier.verify(secret)
            lookups = queries.count
        assert lookups == 1
        await asyncio.sleep(0.3)
        with db.session() as session:
            stored = session.get(ApiKey, row.id)
            assert stored is not None
            assert stored.last_used_at is not None
    finally:
        await verifier.aclose()


async def test_static_operator_keys_work_alongside(db: Database, owner: User) -> None:
    _, secret = new_key(db, owner)
    verifier = AnyKeyVerifier(StaticKeyVerifier(["operator-key"]), DatabaseKeyVerifier(db))
    assert await verifier.verify("operator-key")
    assert await verifier.verify(secret)
    assert not await verifier.verify("tm_sk_nope")
    with pytest.raises(APIError) as error:
        await authenticate(verifier, "Bearer tmcp_control-plane-token")
    assert error.value.status == 401
    assert "control-plane access token" in error.value.message


async def test_unreachable_database_is_a_503_not_a_yes() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    verifier = DatabaseKeyVerifier(db)
    try:
        with pytest.raises(APIError) as error:
            await verifier.verify("tm_sk_some-key")
        assert error.value.status == 503
        assert error.value.headers == {"retry-after": "1"}
    finally:
        await verifier.aclose()
        db.dispose()
