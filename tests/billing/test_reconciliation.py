"""The acceptance test of the money: hundreds of concurrent inference requests (streamed and
not, some abandoned mid-stream, a few on the embedded model) from several keys of two users,
through two gateway processes on one database, with a SIGTERM to one server in the middle
(restarted, the clients carry on). Afterwards no
request the clients got an answer to lacks its record, the records hold the usage the clients
saw, and for each user the records' usage times the price equals the CHARGE transactions to
the nano and the balance equals credits minus charges. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from tensormesh.types.billing import ServerlessPricing, TransactionType
from tensormesh.types.money import Money
from tensormesh_server.controlplane.services import billing_ledger
from tensormesh_server.store.billing_models import BillingTransaction, RequestRecord
from tensormesh_server.store.database import Database
from tests.conftest import EMBEDDED_MODEL
from tests.support.servers import RunningServer, running_server

from .e2e import (
    FAKE_MODEL,
    Customer,
    admin_headers,
    customer,
    database_for,
    fake_upstream,
    price_model,
)

pytestmark = pytest.mark.slow

REQUESTS = 520
EMBEDDED_REQUESTS = 4
CONCURRENCY = 24
SIGTERM_AFTER = REQUESTS // 2
MESSAGES = [{"role": "user", "content": "Say hello."}]
KINDS = (
    ["chat"] * 7
    + ["chat-stream"] * 4
    + ["chat-stream-usage"] * 3
    + ["completion"] * 2
    + ["completion-stream"] * 2
    + ["responses"] * 1
    + ["responses-stream"] * 1
    + ["abandon"] * 2
)


@dataclass
class Seen:
    """What a client saw of one request (one request id)."""

    request_id: str
    user_id: str
    key_id: str
    model: str
    kind: str
    status: int | None = None  # None: no answer (the server was going away)
    usage: tuple[int, int, int] | None = None
    chunks: int = 0


@dataclass
class Target:
    """Where the clients send requests (`url` changes when the server is restarted)."""

    url: str
    restarted: asyncio.Event = field(default_factory=asyncio.Event)


def usage_of(data: dict[str, Any]) -> tuple[int, int, int] | None:
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details") or {}
    return usage["prompt_tokens"], usage["completion_tokens"], details.get("cached_tokens", 0)


def request_of(kind: str, model: str) -> tuple[str, dict[str, Any]]:
    limit = {"max_tokens": 6} if model == EMBEDDED_MODEL else {}
    if kind.startswith("chat") or kind == "abandon":
        body: dict[str, Any] = {"model": model, "messages": MESSAGES, **limit}
        if kind != "chat":
            body["stream"] = True
        if kind == "chat-stream-usage":
            body["stream_options"] = {"include_usage": True}
        return "/v1/chat/completions", body
    if kind.startswith("completion"):
        return "/v1/completions", {
            "model": model,
            "prompt": "Once upon a time",
            "stream": kind.endswith("stream"),
            **limit,
        }
    body = {"model": model, "input": "Say hello.", "stream": kind.endswith("stream")}
    if model == EMBEDDED_MODEL:
        body["max_output_tokens"] = 6
    return "/v1/responses", body


async def send(http: httpx2.AsyncClient, target: Target, seen: Seen, secret: str) -> None:
    """One request; fills `seen` with what came back."""
    path, body = request_of(seen.kind, seen.model)
    headers = {"authorization": f"Bearer {secret}", "x-request-id": seen.request_id}
    url = target.url + path
    if not body.get("stream"):
        answer = await http.post(url, json=body, headers=headers)
        seen.status = answer.status_code
        if answer.status_code == 200:
            data = answer.json()
            seen.usage = usage_of(data)
        return
    async with http.stream("POST", url, json=body, headers=headers) as answer:
        seen.status = answer.status_code
        async for line in answer.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            if data.get("type") == "response.completed":
                seen.usage = usage_of(data["response"])
            elif data.get("usage"):
                seen.usage = usage_of(data)
            choices = data.get("choices") or []
            if any((c.get("delta") or {}).get("content") or c.get("text") for c in choices):
                seen.chunks += 1
                if seen.kind == "abandon":
                    return  # the client goes away after the first token


async def client_loop(
    worker: int,
    queue: asyncio.Queue[tuple[str, str]],
    people: list[Customer],
    target: Target,
    seen: list[Seen],
    answered: list[int],
) -> None:
    chooser = random.Random(worker)
    limits = httpx2.Limits(max_connections=4, max_keepalive_connections=4)
    async with httpx2.AsyncClient(timeout=60, limits=limits) as http:
        while True:
            try:
                kind, model = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            person = chooser.choice(people)
            key_id, secret = chooser.choice(sorted(person.keys.items()))
            while True:
                one = Seen(f"rq-{len(seen)}-{worker}", person.id, key_id, model, kind)
                seen.append(one)
                try:
                    await send(http, target, one, secret)
                except httpx2.TransportError:
                    # The server is going away: the request's fate is unknown to the client.
                    # Try again, with a new request id, once the new server is up.
                    one.status = None
                    await target.restarted.wait()
                    continue
                answered[0] += 1
                break


async def embedded_requests(people: list[Customer], url: str, seen: list[Seen]) -> None:
    """A few requests on the embedded model, one at a time (llama.cpp's threads do poorly
    on two cores saturated by the fake load)."""
    target = Target(url)
    async with httpx2.AsyncClient(timeout=60) as http:
        for n in range(EMBEDDED_REQUESTS // 2):
            person = people[n % len(people)]
            key_id, secret = sorted(person.keys.items())[0]
            kind = ("chat", "chat-stream", "responses-stream", "completion")[n % 4]
            one = Seen(f"embedded-{url[-5:]}-{n}", person.id, key_id, EMBEDDED_MODEL, kind)
            seen.append(one)
            await send(http, target, one, secret)


async def run_load(
    people: list[Customer], first: RunningServer, other: RunningServer, restart: Any
) -> tuple[list[Seen], RunningServer]:
    """REQUESTS requests from CONCURRENCY clients, half of them through `other` (a second
    gateway process on the same database); SIGTERM + restart of `first` half way; a few
    embedded requests before the load and after the restart."""
    chooser = random.Random(7)
    work: list[tuple[str, str]] = [(chooser.choice(KINDS), FAKE_MODEL) for _ in range(REQUESTS)]
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    target = Target(first.serverless_url)
    other_target = Target(other.serverless_url)
    seen: list[Seen] = []
    await embedded_requests(people, first.serverless_url, seen)
    answered = [0]
    clients = [
        asyncio.ensure_future(
            client_loop(n, queue, people, other_target if n % 2 else target, seen, answered)
        )
        for n in range(CONCURRENCY)
    ]
    while answered[0] < SIGTERM_AFTER:
        await asyncio.sleep(0.02)
    assert await asyncio.to_thread(first.stop) == 0, first.log()[-3000:]
    second: RunningServer = await asyncio.to_thread(restart)
    target.url = second.serverless_url
    target.restarted.set()
    await asyncio.gather(*clients)
    await embedded_requests(people[::-1], second.serverless_url, seen)
    return seen, second


def check_records(db: Database, seen: list[Seen], people: list[Customer]) -> dict[str, Any]:
    with db.session() as session:
        records = session.scalars(select(RequestRecord)).all()
    by_id = Counter(record.request_id for record in records)
    assert [rid for rid, n in by_id.items() if n > 1] == [], "a request was metered twice"
    sent = {s.request_id: s for s in seen}
    assert set(by_id) <= set(sent), "a record without a request"
    answered = [s for s in seen if s.status is not None]
    missing = [s.request_id for s in answered if s.request_id not in by_id]
    assert missing == [], f"{len(missing)} answered request(s) without a record"
    keys = {key: p.id for p in people for key in p.keys}
    record_of = {record.request_id: record for record in records}
    abandoned = 0
    for s in answered:
        record = record_of[s.request_id]
        assert record.status_code == s.status or (s.kind == "abandon" and record.status_code == 499)
        assert record.user_id == s.user_id
        assert keys[record.key_id] == s.user_id
        assert record.model == s.model
        tokens = (record.prompt_tokens, record.completion_tokens, record.cached_tokens)
        if s.kind == "abandon":
            abandoned += record.abandoned
            assert s.chunks <= record.completion_tokens <= 5, (s, tokens)
        elif s.usage is not None:
            assert tokens == s.usage, (s, tokens)
        elif s.status == 200:
            assert record.completion_tokens >= s.chunks > 0, (s, tokens)
            assert record.prompt_tokens > 0  # from the usage chunk the client did not see
    return {"records": len(records), "answered": len(answered), "abandoned": abandoned}


def check_money(
    db: Database, people: list[Customer], prices: dict[str, ServerlessPricing]
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with db.session() as session:
        for person in people:
            records = session.scalars(
                select(RequestRecord).where(RequestRecord.user_id == person.id)
            ).all()
            expected = sum(
                prices[r.model]
                .charge(
                    input_tokens=r.prompt_tokens,
                    output_tokens=r.completion_tokens,
                    cached_tokens=r.cached_tokens,
                )
                .charge.to_nanos()
                for r in records
            )
            assert sum(r.charge_nanos for r in records) == expected
            rows = session.execute(
                select(BillingTransaction.type, func.sum(BillingTransaction.amount_nanos))
                .where(BillingTransaction.user_id == person.id)
                .group_by(BillingTransaction.type)
            ).all()
            totals = {kind: int(amount) for kind, amount in rows}
            charges = -totals.get(TransactionType.CHARGE.value, 0)
            credits = totals.get(TransactionType.CREDIT.value, 0)
            assert charges == expected > 0, "usage x price must equal the CHARGE transactions"
            balance = billing_ledger.balance_nanos(session, person.id)
            assert (
                balance == credits - charges == billing_ledger.ledger_sum_nanos(session, person.id)
            )
            figures[person.email] = {
                "records": len(records),
                "charged": str(Money.from_nanos(charges)),
                "balance": str(Money.from_nanos(balance)),
            }
    return figures


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_every_request_is_metered_and_charged_to_the_nano(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database_for(backend, tmp_path, request)
    env = {"TENSORMESH_DATABASE_URL": url, "TENSORMESH_METERING_FLUSH_SECONDS": "0.5"}
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(fake_upstream(chunk_delay=0.02))
        args = ["--upstream", f"{FAKE_MODEL}={upstream}"]
        first = stack.enter_context(running_server(tmp_path, args=args, env=env))
        gateway_args = [*args, "--no-embedded", "--role", "gateway"]
        other = stack.enter_context(running_server(tmp_path, args=gateway_args, env=env))
        db = Database(url)
        stack.callback(db.dispose)
        people = [
            customer(db, "ada@example.com", keys=3, credit="100"),
            customer(db, "bo@example.com", keys=2, credit="50.5"),
        ]
        admin = admin_headers(db)
        fake_price = price_model(
            first.controlplane_url,
            admin,
            FAKE_MODEL,
            inputTokenPrice="0.15",
            outputTokenPrice="0.6",
            cachedTokenPrice="0.075",
        )
        public = httpx2.get(
            first.controlplane_url + "/v1/billing/serverless-pricing",
            params={"activeOnly": "true"},
            headers=admin,
        ).json()["pricing"]
        prices = {p["model"]: ServerlessPricing.model_validate(p) for p in public}
        assert prices[FAKE_MODEL].id == fake_price["id"]
        assert EMBEDDED_MODEL in prices

        def restart() -> RunningServer:
            return stack.enter_context(running_server(tmp_path, args=args, env=env))

        seen, second = await run_load(people, first, other, restart)
        assert second.stop() == 0  # SIGTERM: every record left is written
        assert other.stop() == 0
        counts = check_records(db, seen, people)
        money = check_money(db, people, prices)
    kinds = Counter(s.kind for s in seen if s.status is not None)
    unknown = sum(1 for s in seen if s.status is None)
    embedded = sum(1 for s in seen if s.model == EMBEDDED_MODEL and s.status == 200)
    print(
        f"\n[{backend}] sent {len(seen)} ({unknown} without an answer while the server stopped),"
        f" {counts}, embedded {embedded}, {dict(kinds)}, {money}"
    )
    assert counts["answered"] >= REQUESTS + EMBEDDED_REQUESTS
    assert counts["abandoned"] > 0
    assert embedded == EMBEDDED_REQUESTS
