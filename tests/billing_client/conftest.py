"""Helpers of the billing client tests: SDK clients over httpx2.MockTransport, and `tm` run with
click.testing against such a client."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner, Result

from tensormesh import AsyncTensormesh, Tensormesh
from tensormesh_cli.main import cli
from tensormesh_cli.state import CliState

Handler = Callable[[httpx2.Request], httpx2.Response]
CP_BASE = "http://cp.test"
TOKEN = "tmcp_billing-test-token"


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


Answer = tuple[int, Any]


class Recorder:
    """Records requests; answers with `route(request)` when given, else `answers` in turn
    (the last one repeats)."""

    def __init__(
        self, *answers: Answer, route: Callable[[httpx2.Request], Answer] | None = None
    ) -> None:
        self.answers = list(answers)
        self.route = route
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.route is not None:
            status, body = self.route(request)
        else:
            status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx2.Response(status, json=body, headers={"x-request-id": "rid-billing"})

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        content = self.requests[index].content
        return json.loads(content) if content else None

    def query(self, index: int = -1) -> dict[str, str]:
        return dict(self.requests[index].url.params)


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


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment (empty config directory, a control-plane token in the environment)."""
    for name in list(os.environ):
        if name.startswith(("TENSORMESH_", "TM_")) or name == "NO_COLOR":
            monkeypatch.delenv(name)
    config_home = tmp_path / "tm-config"
    monkeypatch.setenv("TM_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TENSORMESH_CONTROL_PLANE_TOKEN", TOKEN)
    return config_home


class Tm:
    """Runs `tm` in-process; every SDK client it creates talks to `recorder`."""

    def __init__(self, recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
        self.recorder = recorder
        self.clients = 0

        def new_client(state: CliState, control_plane_token: str | None) -> Tensormesh:
            assert control_plane_token == TOKEN
            self.clients += 1
            return sync_client(recorder, control_plane_token=control_plane_token)

        monkeypatch.setattr(CliState, "new_client", new_client)

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--controlplane-base", CP_BASE, *args], input=input)


@pytest.fixture
def make_tm(home: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Recorder], Tm]:
    return lambda recorder: Tm(recorder, monkeypatch)
