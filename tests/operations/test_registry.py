"""The gateway's registry in process: it follows the deployments table, reports status
events, refuses names of static models, watches replica health (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
import pytest

from tensormesh.types.operations import DeployRequest
from tensormesh_server.controlplane.services import deployments
from tensormesh_server.engines import build_engines
from tensormesh_server.engines.upstream import ReplicaPool
from tensormesh_server.models_config import ModelSpec
from tensormesh_server.registry import HealthMonitor, ModelRegistry
from tensormesh_server.registry.registry import gguf_problem
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import User
from tensormesh_server.testing.fake_upstream import FakeUpstream, free_port, running_fake_upstream
from tests.controlplane.helpers import FakeClock
from tests.support.people import Person

pytestmark = pytest.mark.slow


def deploy(db: Database, admin: Person, clock: FakeClock, name: str, urls: list[str]) -> str:
    with db.session() as session:
        actor = session.get(User, admin.id)
        assert actor is not None
        request = DeployRequest(model_name=name, engine="openai", upstream_urls=urls)
        return deployments.deploy(session, actor, request, None, clock.now()).id


def model(db: Database, model_id: str) -> tuple[str, list[str]]:
    with db.session() as session:
        row = session.get(deployments.Deployment, model_id)
        assert row is not None
        return row.status, [e.log for e in deployments.events_of(session, model_id)]


async def test_follows_deploy_and_delete(db: Database, admin: Person, clock: FakeClock) -> None:
    seen: list[list[str]] = []
    async with httpx2.AsyncHTTPTransport() as transport:
        static = build_engines(
            [ModelSpec("static", "openai", upstream_urls=("http://x",))], transport
        )
        registry = ModelRegistry(static, db, transport)
        registry.subscribe(lambda engines: seen.append(sorted(engines)))
        with running_fake_upstream(FakeUpstream(name="one")) as (url, _fake):
            model_id = deploy(db, admin, clock, "dyn", [url])
            taken = deploy(db, admin, clock, "static", [url])
            await registry.poll_once()
            assert sorted(registry.engines) == ["dyn", "static"]
            assert seen[-1] == ["dyn", "static"]
            status, events = model(db, model_id)
            assert status == "MODEL_STATUS_UP"
            assert "serving dyn with 1 replica(s)" in events[-1]
            status, events = model(db, taken)
            assert status == "MODEL_STATUS_DOWN"
            assert "taken by a model configured on this gateway" in events[-1]
            await registry.poll_once()  # a failed revision is not retried
            assert len(model(db, taken)[1]) == 2
            with db.session() as session:
                actor = session.get(User, admin.id)
                assert actor is not None
                deployments.remove(session, actor, model_id, clock.now())
            await registry.poll_once()
            assert sorted(registry.engines) == ["static"]
            await registry.aclose()
    with db.session() as session:
        lines = deployments.read_logs(session, model_id, None, None, 100, backward=False)
    assert any("stopped serving dyn" in line.message for line in lines)


async def test_health_monitor_takes_a_replica_out_and_back() -> None:
    port = free_port()
    changes: list[tuple[str, bool]] = []
    async with httpx2.AsyncHTTPTransport() as transport:
        pool = ReplicaPool(transport, [f"http://127.0.0.1:{port}"])
        monitor = HealthMonitor(pool, lambda r, up, _why: changes.append((r.url, up)))
        await monitor.check_once()
        assert pool.replicas[0].down
        assert monitor.all_down()
        with running_fake_upstream(port=port):
            await monitor.check_once()
            assert not pool.replicas[0].down
        assert [up for _, up in changes] == [False, True]


async def test_failover_skips_a_down_replica_and_fails_over_on_503() -> None:
    failing = running_fake_upstream(FakeUpstream(name="bad", status=503))
    working = running_fake_upstream(FakeUpstream(name="good"))
    async with httpx2.AsyncHTTPTransport() as transport:
        with failing as (bad, bad_fake), working as (good, _):
            pool = ReplicaPool(transport, [bad, good])
            pool.replicas[1].in_flight = 5  # the failing one looks idle: tried first
            status, content = await pool.request("POST", "/v1/completions", b"{}")
            assert (status, b"cmpl-good" in content) == (200, True)
            assert bad_fake.requests == 1
            pool.replicas[1].down = True
            pool.replicas[1].in_flight = 0
            assert pool.candidates()[0].url == bad


def test_gguf_problems(tmp_path: Path) -> None:
    assert "not found" in str(gguf_problem(str(tmp_path / "x.gguf")))
    text = tmp_path / "t.gguf"
    text.write_bytes(b"nope")
    assert "not a GGUF" in str(gguf_problem(str(text)))
    real = tmp_path / "r.gguf"
    real.write_bytes(b"GGUF\x03\x00")
    assert gguf_problem(str(real)) is None


async def test_reports_survive_a_database_outage(
    db: Database, admin: Person, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with httpx2.AsyncHTTPTransport() as transport:
        registry = ModelRegistry({}, db, transport)
        registry.logbook.write("some-id", "hello")

        def broken(*_args: object) -> None:
            raise RuntimeError("database away")

        monkeypatch.setattr(registry, "_write", broken)
        await registry._flush()
        assert [line[2] for line in registry.logbook.lines] == ["hello"]


async def test_a_removed_engine_finishes_its_requests_first(
    db: Database, admin: Person, clock: FakeClock
) -> None:
    closed: list[str] = []
    async with httpx2.AsyncHTTPTransport() as transport:
        registry = ModelRegistry({}, db, transport)
        model_id = deploy(db, admin, clock, "busy", ["http://127.0.0.1:9"])
        await registry.poll_once()
        engine = registry.running[model_id].engine

        async def close() -> None:
            closed.append("busy")

        engine.aclose = close  # type: ignore[method-assign]
        registry.metrics.in_flight["busy"] = 1
        with db.session() as session:
            actor = session.get(User, admin.id)
            assert actor is not None
            deployments.remove(session, actor, model_id, clock.now())
        await registry.poll_once()
        assert "busy" not in registry.engines
        await asyncio.sleep(0.3)
        assert closed == []
        registry.metrics.in_flight["busy"] = 0
        await asyncio.sleep(0.3)
        assert closed == ["busy"]
        await registry.aclose()


async def test_a_stream_that_dies_before_its_first_bytes_fails_over() -> None:
    async def headers_then_hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
        writer.write(b"transfer-encoding: chunked\r\n\r\n")
        await writer.drain()
        writer.close()

    dying = await asyncio.start_server(headers_then_hang_up, "127.0.0.1", 0)
    port = dying.sockets[0].getsockname()[1]
    body = b'{"prompt": "x", "stream": true}'
    try:
        with running_fake_upstream(FakeUpstream(name="steady")) as (good, _fake):
            async with httpx2.AsyncHTTPTransport() as transport:
                pool = ReplicaPool(transport, [f"http://127.0.0.1:{port}", good])
                pool.replicas[1].in_flight = 5  # the dying one looks idle: tried first
                async with pool.stream("POST", "/v1/completions", body) as (answer, chunks):
                    text = b"".join([chunk async for chunk in chunks])
                assert answer.status_code == 200
                assert b"cmpl-steady" in text
                assert b"[DONE]" in text
                assert not pool.replicas[0].healthy(pool.replicas[0].failed_at + 1)
    finally:
        dying.close()
        await dying.wait_closed()
