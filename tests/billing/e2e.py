"""Helpers of the billing end-to-end tests: a database per backend for a real server, a fake
upstream in its own process, users with keys and credit, an admin's access token; a load of
mixed inference requests (`send`, `client_loop`: what each client saw) and the reconciliation
checks of records and money (`check_records`, `check_money`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from tensormesh.types.billing import ServerlessPricing, TransactionType
from tensormesh.types.money import Money
from tensormesh_server.controlplane import operator
from tensormesh_server.controlplane.services import billing, billing_ledger
from tensormesh_server.store.billing_models import BillingTransaction, RequestRecord
from tensormesh_server.store.database import Database
from tensormesh_server.testing.fake_upstream import fake_upstream_process
from tests.conftest import EMBEDDED_MODEL
from tests.controlplane.conftest import Postgres
from tests.controlplane.helpers import access_token, bearer

FAKE_MODEL = "fake"
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
"""The mix of request kinds of the load ("abandon": a stream the client leaves early)."""


def database_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new database URL of `backend` for a real server."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'billing.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    return server.create()


@contextlib.contextmanager
def fake_upstream(chunk_delay: float = 0.02) -> Iterator[str]:
    """A FakeUpstream in its own process (so that it does not share the test's CPU time
    slices with the event loop of the clients); yields its base URL."""
    with fake_upstream_process(("--chunk-delay", str(chunk_delay))) as (url, _):
        yield url


@dataclass
class Customer:
    """A user of the platform with inference keys (key id -> secret)."""

    id: str
    email: str
    keys: dict[str, str] = field(default_factory=dict)


def customer(db: Database, email: str, keys: int, credit: str | None) -> Customer:
    """A user with `keys` inference keys and an operator credit of `credit`."""
    user = operator.create_user(db, email, role="user", display_name=email, password=None)
    person = Customer(user.id, user.email)
    for n in range(keys):
        row, secret = operator.create_api_key(db, email, name=f"key-{n}")
        person.keys[row.id] = secret
    if credit is not None:
        billing.operator_credit(db, email, Money.from_decimal(credit))
    return person


def admin_headers(db: Database, email: str = "admin@localhost") -> dict[str, str]:
    """An access token of the first admin (created by the server on an empty database)."""
    from datetime import datetime, timezone

    from tensormesh_server.controlplane.services import users

    with db.session() as session:
        admin = users.find_by_email(session, email)
        assert admin is not None
    return bearer(access_token(db, admin, datetime.now(timezone.utc)))


def price_model(
    controlplane_url: str, headers: dict[str, str], model: str, **prices: str
) -> dict[str, object]:
    """Set a model's price through the admin API (prices as decimal strings per 1M tokens)."""
    pricing: dict[str, object] = {"model": model, "name": f"{model} test price"}
    for name, value in prices.items():
        pricing[name] = Money.from_decimal(value).to_wire()
    answer = httpx2.post(
        controlplane_url + "/v1/admin/billing/serverless-pricing",
        json={"pricing": pricing},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    created: dict[str, object] = answer.json()["pricing"]
    return created


# -- the load and its reconciliation ---------------------------------------------------------


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
    url: str = ""  # the gateway that was asked
    finished: float = 0.0  # time.monotonic() when the client was done with it


@dataclass
class Target:
    """Where the clients send requests (`url` changes when the server is restarted)."""

    url: str
    restarted: asyncio.Event = field(default_factory=asyncio.Event)


def usage_of(data: dict[str, Any]) -> tuple[int, int, int] | None:
    """(prompt, completion, cached) tokens of an answer's `usage` (None without one)."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details") or {}
    return usage["prompt_tokens"], usage["completion_tokens"], details.get("cached_tokens", 0)


def request_of(kind: str, model: str) -> tuple[str, dict[str, Any]]:
    """The path and body of a request of `kind` (one of KINDS) on `model`."""
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
    """One request; fills `seen` with what came back, where it went and when it ended."""
    seen.url = target.url
    try:
        await _exchange(http, seen, secret)
    finally:
        seen.finished = time.monotonic()


async def _exchange(http: httpx2.AsyncClient, seen: Seen, secret: str) -> None:
    path, body = request_of(seen.kind, seen.model)
    headers = {"authorization": f"Bearer {secret}", "x-request-id": seen.request_id}
    url = seen.url + path
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
    """Send the queue's requests from random keys of `people` to `target`, until the queue is
    empty; a request the server dropped is sent again (new id) once `target.restarted`."""
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


def check_records(
    db: Database,
    seen: list[Seen],
    people: list[Customer],
    excused: Callable[[Seen], bool] | None = None,
) -> dict[str, Any]:
    """Every request the clients got an answer to has exactly one record with the usage they
    saw; answered requests without a record are allowed only when `excused` (returns the
    figures: records, answered, abandoned, missing)."""
    with db.session() as session:
        records = session.scalars(select(RequestRecord)).all()
    by_id = Counter(record.request_id for record in records)
    assert [rid for rid, n in by_id.items() if n > 1] == [], "a request was metered twice"
    sent = {s.request_id: s for s in seen}
    assert set(by_id) <= set(sent), "a record without a request"
    answered = [s for s in seen if s.status is not None]
    missing = [s for s in answered if s.request_id not in by_id]
    unexcused = [s.request_id for s in missing if excused is None or not excused(s)]
    assert unexcused == [], f"{len(unexcused)} answered request(s) without a record"
    keys = {key: p.id for p in people for key in p.keys}
    record_of = {record.request_id: record for record in records}
    abandoned = 0
    for s in answered:
        record = record_of.get(s.request_id)
        if record is None:
            continue
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
    return {
        "records": len(records),
        "answered": len(answered),
        "abandoned": abandoned,
        "missing": len(missing),
    }


def check_money(
    db: Database, people: list[Customer], prices: dict[str, ServerlessPricing]
) -> dict[str, Any]:
    """For each person: the records' usage x price == their charges == the CHARGE
    transactions, to the nano, and the balance == credits - charges == the ledger's sum."""
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
