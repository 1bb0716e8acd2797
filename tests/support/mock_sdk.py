"""SDK clients over httpx2.MockTransport, a request recorder to answer them, and the clean
environment in which `tm` runs in-process (shared by the client test folders)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tensormesh import AsyncTensormesh, Tensormesh

Handler = Callable[[httpx2.Request], httpx2.Response]
Answer = tuple[int, Any]
CP_BASE = "http://cp.test"


@dataclass(frozen=True)
class MockSdk:
    """Makes SDK clients whose every request goes to a handler, signed in with `token`."""

    token: str

    def options(self, **options: Any) -> dict[str, Any]:
        """The client options: `options` over the test defaults (no retries, no environment)."""
        options.setdefault("control_plane_token", self.token)
        options.setdefault("control_plane_base_url", CP_BASE)
        options.setdefault("serverless_base_url", "http://serverless.test")
        options.setdefault("max_retries", 0)
        options.setdefault("env", {})
        return options

    def sync_client(self, handler: Handler, **options: Any) -> Tensormesh:
        """A sync client answered by `handler`."""
        return Tensormesh(
            http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
            **self.options(**options),
        )

    def async_client(self, handler: Handler, **options: Any) -> AsyncTensormesh:
        """An async client answered by `handler`."""
        return AsyncTensormesh(
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
            **self.options(**options),
        )

    async def run(
        self, mode: str, handler: Handler, call: Callable[[Any], Any], **options: Any
    ) -> Any:
        """`call(client.control_plane)` with a sync or an async client (awaited when async)."""
        if mode == "sync":
            with self.sync_client(handler, **options) as client:
                return call(client.control_plane)
        async with self.async_client(handler, **options) as aclient:
            return await call(aclient.control_plane)


class Recorder:
    """Records requests; answers with `route(request)` when given, else `answers` in turn
    (the last one repeats). Every answer carries the `x-request-id` `request_id`."""

    request_id = "rid-test"

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
        return httpx2.Response(status, json=body, headers={"x-request-id": self.request_id})

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        content = self.requests[index].content
        return json.loads(content) if content else None

    def query(self, index: int = -1) -> dict[str, str]:
        return dict(self.requests[index].url.params)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each test once with a sync client and once with an async one."""
    return str(request.param)


def clean_cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Drops every TENSORMESH_*/TM_* variable and NO_COLOR, points HOME at `tmp_path` and the
    `tm` config directory at an empty one below it; returns that directory."""
    for name in list(os.environ):
        if name.startswith(("TENSORMESH_", "TM_")) or name == "NO_COLOR":
            monkeypatch.delenv(name)
    config_home = tmp_path / "tm-config"
    monkeypatch.setenv("TM_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("HOME", str(tmp_path))
    return config_home
