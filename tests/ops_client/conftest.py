"""Helpers of the operations client tests: a fake control plane behind httpx2.MockTransport,
SDK clients over it, and `tm` run in-process with its SDK client on the same transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest
from click.testing import CliRunner, Result

from tensormesh import Tensormesh
from tensormesh_cli.main import cli
from tensormesh_cli.state import CliState
from tests.support.mock_sdk import CP_BASE, MockSdk, clean_cli_env
from tests.support.mock_sdk import mode as mode

TOKEN = "tmcp_ops-test-token"
Answer = tuple[int, Any] | Callable[[httpx2.Request], tuple[int, Any]]


class FakeControlPlane:
    """Answers `(METHOD, path)` with queued replies (the last one repeats) and records requests."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx2.Request] = []

    def on(self, method: str, path: str, *answers: Answer) -> FakeControlPlane:
        self.routes[(method, path)] = list(answers)
        return self

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            body = {"code": 5, "message": f"no route {request.method} {request.url.path}"}
            return httpx2.Response(404, json=body)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        status, body = answer(request) if callable(answer) else answer
        return httpx2.Response(status, json=body, headers={"x-request-id": "rid-ops"})

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]

    def query(self, index: int = -1) -> dict[str, str]:
        """The query string of a recorded request (one value per name)."""
        return dict(parse_qsl(self.requests[index].url.query.decode(), keep_blank_values=True))

    def body(self, index: int = -1) -> Any:
        content = self.requests[index].content
        return json.loads(content) if content else None


SDK = MockSdk(TOKEN)
sync_client = SDK.sync_client
async_client = SDK.async_client
run = SDK.run


async def collect(mode: str, fake: FakeControlPlane, call: Callable[[Any], Any]) -> list[Any]:
    """Every item of the pager `call(client.control_plane)` returns (sync or async)."""
    if mode == "sync":
        with sync_client(fake) as client:
            return list(call(client.control_plane))
    async with async_client(fake) as aclient:
        return [item async for item in call(aclient.control_plane)]


@pytest.fixture
def fake() -> FakeControlPlane:
    return FakeControlPlane()


class Tm:
    """Runs `tm` in-process; its SDK clients talk to the fake control plane."""

    def __call__(self, *args: str, input: str | None = None, color: bool = False) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, color=color)

    def json(self, *args: str) -> Any:
        result = self("--output", "json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def tm(fake: FakeControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tm:
    clean_cli_env(tmp_path, monkeypatch)
    monkeypatch.setenv("TENSORMESH_CONTROL_PLANE_TOKEN", TOKEN)
    monkeypatch.setenv("TENSORMESH_CONTROL_PLANE_BASE_URL", CP_BASE)

    def new_client(self: CliState, control_plane_token: str | None) -> Tensormesh:
        return sync_client(
            fake,
            control_plane_token=control_plane_token,
            control_plane_base_url=self.settings.controlplane_base,
        )

    monkeypatch.setattr(CliState, "new_client", new_client)
    return Tm()


def page(field: str, items: list[Any], number: int, size: int, total: int) -> dict[str, Any]:
    """A numbered page reply."""
    return {field: items, "page": number, "size": size, "total": total}


def paged(field: str, items: list[Any]) -> Callable[[httpx2.Request], tuple[int, Any]]:
    """A route answering `page`/`size` queries from `items` (default size 2)."""

    def answer(request: httpx2.Request) -> tuple[int, Any]:
        query = dict(parse_qsl(request.url.query.decode()))
        number, size = int(query.get("page", 1)), int(query.get("size", 2))
        chunk = items[(number - 1) * size : number * size]
        return 200, page(field, chunk, number, size, len(items))

    return answer
