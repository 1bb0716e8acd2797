"""Fixtures of the server tests: an in-process app over the fake upstream, real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest

from tensormesh_server.app import ServerlessApp
from tensormesh_server.auth import StaticKeyVerifier
from tensormesh_server.engines import build_engines
from tensormesh_server.models_config import ModelSpec
from tensormesh_server.testing.fake_upstream import FakeUpstream, running_fake_upstream
from tests.support.servers import RunningServer, running_server

KEY = "tm_sk_unit-test-key"
FAKE_URL = "http://fake-upstream"


@pytest.fixture
def fake() -> FakeUpstream:
    """The fake upstream behind the in-process app."""
    return FakeUpstream(name="unit")


@pytest.fixture
def app(fake: FakeUpstream) -> ServerlessApp:
    """The serverless app with two `openai` models served by the in-process fake upstream."""
    upstream = httpx2.ASGITransport(app=fake)
    specs = [
        ModelSpec(id="fake", engine="openai", upstream_urls=(FAKE_URL,)),
        ModelSpec(
            id="renamed",
            engine="openai",
            upstream_urls=(FAKE_URL,),
            upstream_model="upstream-name",
            api_key="upstream-secret",
        ),
    ]
    engines = build_engines(specs, upstream)
    return ServerlessApp(engines, StaticKeyVerifier([KEY]), "9.9.9")


@pytest.fixture
async def client(app: ServerlessApp) -> AsyncIterator[httpx2.AsyncClient]:
    """A client calling the app in process, with the key set."""
    transport = httpx2.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {KEY}"}
    async with httpx2.AsyncClient(
        transport=transport, base_url="http://gateway", headers=headers
    ) as http:
        yield http


@pytest.fixture
def fake_upstream_url() -> Iterator[tuple[str, FakeUpstream]]:
    """A fake upstream listening on loopback (slowly streaming, to observe cancellation)."""
    with running_fake_upstream(FakeUpstream(name="loopback", chunk_delay=0.05)) as running:
        yield running


@pytest.fixture
def gateway(tmp_path: Path, fake_upstream_url: tuple[str, FakeUpstream]) -> Iterator[RunningServer]:
    """`tm server up --no-embedded` in front of the loopback fake upstream."""
    url, _ = fake_upstream_url
    args = ("--no-embedded", "--upstream", f"fake={url}")
    with running_server(tmp_path, args=args, api_key=KEY) as running:
        yield running
