"""The fault-injecting TCP proxy of the reliability tests (tests/support/tcp_proxy.py), in front
of the test PostgreSQL: it forwards, an outage resets open connections and refuses new ones
at once, a blackhole outage makes connecting time out, and it closes cleanly."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.controlplane.conftest import Postgres
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxy(postgres: Postgres) -> Iterator[TcpProxy]:
    with TcpProxy(make_url(postgres.admin_url).port or 5432) as running:
        yield running
    assert not running.running


def engine_through(proxy: TcpProxy, postgres: Postgres) -> Engine:
    url = make_url(proxy.url_for(postgres.admin_url)).update_query_dict({"connect_timeout": "1"})
    return create_engine(url, poolclass=NullPool)


def answer(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT 7")).scalar_one())


def test_an_outage_resets_open_connections_and_refuses_new_ones(
    proxy: TcpProxy, postgres: Postgres
) -> None:
    engine = engine_through(proxy, postgres)
    assert answer(engine) == 7
    with engine.connect() as open_one:
        assert open_one.execute(text("SELECT 1")).scalar_one() == 1
        with proxy.outage():
            assert proxy.paused
            with pytest.raises(OperationalError):
                open_one.execute(text("SELECT 2"))
            began = time.monotonic()
            with pytest.raises(OperationalError):
                answer(engine)
            assert time.monotonic() - began < 0.5  # refused at once, no timeout
    assert answer(engine) == 7
    assert (proxy.dropped, proxy.refused) == (1, 1)
    assert proxy.accepted == 3


def test_a_blackhole_outage_leaves_connecting_clients_waiting(
    proxy: TcpProxy, postgres: Postgres
) -> None:
    engine = engine_through(proxy, postgres)
    with proxy.outage(blackhole=True):
        began = time.monotonic()
        with pytest.raises(OperationalError, match="timeout"):
            answer(engine)
        assert time.monotonic() - began >= 0.9  # the client's connect_timeout, not a refusal
    assert answer(engine) == 7


def test_close_ends_open_and_held_connections(postgres: Postgres) -> None:
    proxy = TcpProxy(make_url(postgres.admin_url).port or 5432).start()
    engine = engine_through(proxy, postgres)
    with engine.connect() as open_one:
        open_one.execute(text("SELECT 1"))
        proxy.close()
        assert not proxy.running
        with pytest.raises(OperationalError):
            open_one.execute(text("SELECT 2"))
    proxy.close()  # twice is harmless
