"""Real gateway processes: a key's limit shared by two replicas through PostgreSQL and Redis,
the tokens of streams the client abandons counted in the tokens-per-minute window, and a slow
engine's bounded queue."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from tensormesh.types.money import Money
from tensormesh_server.controlplane import operator
from tensormesh_server.controlplane.services.billing import operator_credit
from tensormesh_server.store.billing_models import RequestRecord
from tensormesh_server.store.database import Database
from tensormesh_server.store.migrate import upgrade
from tensormesh_server.testing.fake_upstream import (
    FakeUpstream,
    numbered_words,
    running_fake_upstream,
)
from tests.controlplane.conftest import Postgres
from tests.controlplane.helpers import make_user
from tests.support.servers import running_server

from .conftest import REDIS_URL

pytestmark = pytest.mark.slow

MODEL = "m"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def _wait_for_a_fresh_window(needed: float = 20.0) -> None:
    """Start in a minute with at least `needed` seconds left (windows are wall-clock minutes)."""
    left = 60 - time.time() % 60
    if left < needed:
        time.sleep(left + 0.1)


def _limited_key(url: str, rpm: int | None = None, tpm: int | None = None) -> str:
    db = Database(url)
    try:
        upgrade(db.engine)
        make_user(db, "limited@example.com", now=datetime.now(timezone.utc))
        operator_credit(db, "limited@example.com", Money.parse("5.00"))
        _, secret = operator.create_api_key(
            db, "limited@example.com", requests_per_minute=rpm, tokens_per_minute=tpm
        )
    finally:
        db.dispose()
    return secret


@pytest.mark.usefixtures("redis_prefix")
def test_rpm_is_shared_by_two_gateway_replicas(tmp_path: Path, postgres: Postgres) -> None:
    url = postgres.create()
    key = _limited_key(url, rpm=5)
    env = {"TENSORMESH_DATABASE_URL": url, "TENSORMESH_REDIS_URL": REDIS_URL}
    with running_fake_upstream() as (upstream, _):
        args = ("--role", "gateway", "--no-embedded", "--upstream", f"{MODEL}={upstream}")
        with (
            running_server(tmp_path, args, env) as first,
            running_server(tmp_path, args, env) as second,
        ):
            _wait_for_a_fresh_window()
            headers = {"authorization": f"Bearer {key}"}
            replies = [
                httpx2.post(
                    server.serverless_url + "/v1/chat/completions",
                    json=CHAT,
                    headers=headers,
                    timeout=30,
                )
                for server in [first, second] * 4
            ]
    statuses = [reply.status_code for reply in replies]
    assert statuses == [200] * 5 + [429] * 3
    assert [r.headers["x-ratelimit-remaining-requests"] for r in replies[:5]] == [
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    refused = replies[5]
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit-requests"] == "5"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-limit-tokens" not in refused.headers  # no token limit on this key


def test_tpm_counts_metered_tokens_in_process(tmp_path: Path, postgres: Postgres) -> None:
    url = postgres.create()
    key = _limited_key(url, tpm=25)  # the fake upstream meters 5 + 5 tokens per request
    with running_fake_upstream() as (upstream, _):
        args = ("--role", "gateway", "--no-embedded", "--upstream", f"{MODEL}={upstream}")
        with running_server(tmp_path, args, {"TENSORMESH_DATABASE_URL": url}) as server:
            _wait_for_a_fresh_window()
            replies = [
                httpx2.post(
                    server.serverless_url + "/v1/chat/completions",
                    json={**CHAT, "stream": stream},
                    headers={"authorization": f"Bearer {key}"},
                    timeout=30,
                )
                for stream in (False, True, False, True)
            ]
    assert [reply.status_code for reply in replies] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining-tokens"] for r in replies] == ["25", "15", "5", "0"]
    assert all(r.headers["x-ratelimit-limit-tokens"] == "25" for r in replies)
    assert "x-ratelimit-limit-requests" not in replies[0].headers
    assert "tokens per minute" in replies[3].json()["error"]["message"]


class LingeringUpstream(FakeUpstream):
    """Keeps each stream open for `linger` seconds after its `[DONE]` (as a loaded engine may
    close late), so that the client leaves before the gateway sees the end."""

    linger = 1.0

    async def _send_chunks(
        self, send: Any, route: str, model: str, body: dict[str, Any], gone: asyncio.Event
    ) -> None:
        async def lingering(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await send({**message, "more_body": True})
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(gone.wait(), self.linger)
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await super()._send_chunks(lingering, route, model, body, gone)


def _records(url: str, wanted: int, timeout: float = 10.0) -> list[RequestRecord]:
    """The first `wanted` request records, once the gateway wrote them (oldest first)."""
    db = Database(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with db.session() as session:
                found = session.scalars(
                    select(RequestRecord).order_by(RequestRecord.started_at)
                ).all()
            if len(found) >= wanted or time.monotonic() > deadline:
                assert len(found) >= wanted, found
                return list(found[:wanted])
            time.sleep(0.1)
    finally:
        db.dispose()


async def _stream(client: httpx2.AsyncClient, key: str, prompt: str, chunks: int | None) -> int:
    """Stream a completion and leave after `chunks` events (None: after `[DONE]`); returns the
    events read."""
    body = {"model": MODEL, "prompt": prompt, "stream": True}
    headers = {"authorization": f"Bearer {key}"}
    read = 0
    async with client.stream("POST", "/v1/completions", json=body, headers=headers) as stream:
        assert stream.status_code == 200
        async for line in stream.aiter_lines():
            read += line.startswith("data: ")
            if read == chunks or line == "data: [DONE]":
                break  # the client goes away
    return read


async def test_streams_count_their_metered_tokens_whenever_the_client_leaves(
    tmp_path: Path, postgres: Postgres
) -> None:
    url = postgres.create()
    key = _limited_key(url, tpm=1000)
    prompt = "0123456789"  # the fake upstream's tokenizer: one token per character
    upstream_app = LingeringUpstream(words=numbered_words(20), chunk_delay=0.02)
    with running_fake_upstream(upstream_app) as (upstream, _):
        args = ("--role", "gateway", "--no-embedded", "--upstream", f"{MODEL}={upstream}")
        with running_server(tmp_path, args, {"TENSORMESH_DATABASE_URL": url}) as server:
            _wait_for_a_fresh_window()
            async with httpx2.AsyncClient(base_url=server.serverless_url, timeout=30) as client:
                assert await _stream(client, key, prompt, chunks=3) == 3  # abandoned
                await asyncio.sleep(0.5)  # in order in the records
                assert await _stream(client, key, prompt, chunks=None) == 22  # all, then gone
            abandoned, complete = _records(url, 2)
            after = httpx2.post(
                server.serverless_url + "/v1/chat/completions",
                json=CHAT,
                headers={"authorization": f"Bearer {key}"},
                timeout=30,
            )
    assert (abandoned.status_code, abandoned.abandoned, abandoned.stream) == (499, True, True)
    assert abandoned.prompt_tokens == len(prompt)  # counted by the engine's tokenizer
    assert 3 <= abandoned.completion_tokens < 20
    # The client left after [DONE], before the upstream closed: a complete answer, not abandoned.
    assert (complete.status_code, complete.abandoned) == (200, False)
    assert (complete.prompt_tokens, complete.completion_tokens) == (5, 20)  # the engine's usage
    assert upstream_app.cancelled == 2
    metered = sum(r.prompt_tokens + r.completion_tokens for r in (abandoned, complete))
    assert after.status_code == 200, after.text
    assert after.headers["x-ratelimit-remaining-tokens"] == str(1000 - metered)


async def test_a_full_engine_queue_answers_429_overloaded(tmp_path: Path) -> None:
    slow = FakeUpstream(chunk_delay=0.4)
    env = {"TENSORMESH_ENGINE_MAX_IN_FLIGHT": "2", "TENSORMESH_ENGINE_MAX_QUEUE": "2"}
    with running_fake_upstream(slow) as (upstream, _):
        args = ("--no-embedded", "--upstream", f"{MODEL}={upstream}")
        with running_server(tmp_path, args, env) as server:
            headers = {"authorization": f"Bearer {server.api_key}"}
            async with httpx2.AsyncClient(base_url=server.serverless_url, timeout=60) as client:

                async def chat() -> httpx2.Response:
                    body = {**CHAT, "stream": True}
                    return await client.post("/v1/chat/completions", json=body, headers=headers)

                replies = await asyncio.gather(*(chat() for _ in range(5)))
    statuses = sorted(reply.status_code for reply in replies)
    assert statuses == [200, 200, 200, 200, 429]
    refused = next(reply for reply in replies if reply.status_code == 429)
    assert refused.json()["error"]["message"].startswith("Server is overloaded")
    assert refused.headers["retry-after"] == "1"
    assert slow.requests == 4
