"""Helpers of the Control Plane client tests: SDK clients over httpx2.MockTransport."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest

from tensormesh import AsyncTensormesh, Tensormesh

Handler = Callable[[httpx2.Request], httpx2.Response]
CP_BASE = "http://cp.test"
TOKEN = "tmcp_test-access-token"


def client_options(**options: Any) -> dict[str, Any]:
    options.setdefault("control_plane_token", TOKEN)
    options.setdefault("control_plane_base_url", CP_BASE)
    options.setdefault("serverless_base_url", "http://serverless.test")
    options.setdefault("max_retries", 0)
    options.setdefault("env", {})
    return options


def sync_client(handler: Handler, **options: Any) -> Tensormesh:
    return Tensormesh(
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        **client_options(**options),
    )


def async_client(handler: Handler, **options: Any) -> AsyncTensormesh:
    return AsyncTensormesh(
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
        **client_options(**options),
    )


class Recorder:
    """Records requests and answers each with `status` and JSON `body` (in turn, last repeats)."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx2.Response(status, json=body, headers={"x-request-id": "rid-cp"})

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        content = self.requests[index].content
        return json.loads(content) if content else None


async def run(mode: str, recorder: Recorder, call: Callable[[Any], Any], **options: Any) -> Any:
    """`call(client.control_plane)` with a sync or an async client (awaiting when async)."""
    if mode == "sync":
        with sync_client(recorder, **options) as client:
            return call(client.control_plane)
    async with async_client(recorder, **options) as aclient:
        return await call(aclient.control_plane)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


POSTGRES_ADMIN_URL = os.environ.get(
    "TENSORMESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (its URL), dropped afterwards. Skips the test when the test
    server cannot be reached, unless TENSORMESH_TEST_POSTGRES_REQUIRED=1."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tm_test_{secrets.token_hex(6)}"
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        engine.dispose()
        if os.environ.get("TENSORMESH_TEST_POSTGRES_REQUIRED") == "1":
            pytest.fail(f"PostgreSQL unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
