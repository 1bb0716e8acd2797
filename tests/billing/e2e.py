"""Helpers of the billing end-to-end tests: a database per backend for a real server, a fake
upstream in its own process, users with keys and credit, an admin's access token."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from tensormesh.types.money import Money
from tensormesh_server.controlplane import operator
from tensormesh_server.controlplane.services import billing
from tensormesh_server.store.database import Database
from tests.controlplane.conftest import Postgres
from tests.controlplane.helpers import access_token, bearer
from tests.support.servers import free_port

FAKE_MODEL = "fake"


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
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "tensormesh_server.testing.fake_upstream",
        "--port",
        str(port),
        "--chunk-delay",
        str(chunk_delay),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx2.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the fake upstream did not start")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


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
