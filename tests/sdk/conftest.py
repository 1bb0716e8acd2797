"""Helpers for the SDK tests: clients over httpx2.MockTransport and a fast retry policy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from tensormesh import AsyncTensormesh, Tensormesh
from tensormesh._retry import RetryPolicy

Handler = Callable[[httpx2.Request], httpx2.Response]

FAST_RETRIES = RetryPolicy(
    max_retries=2, initial_backoff=0.001, max_backoff=0.005, max_retry_after=0.05
)


def sync_client(handler: Handler, **options: Any) -> Tensormesh:
    options.setdefault("inference_api_key", "tm-key-secret")
    options.setdefault("serverless_base_url", "http://serverless.test")
    options.setdefault("control_plane_base_url", "http://cp.test")
    options.setdefault("env", {})
    client = Tensormesh(
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)), **options
    )
    client._transport.retry_policy = FAST_RETRIES
    return client


def async_client(handler: Handler, **options: Any) -> AsyncTensormesh:
    options.setdefault("inference_api_key", "tm-key-secret")
    options.setdefault("serverless_base_url", "http://serverless.test")
    options.setdefault("control_plane_base_url", "http://cp.test")
    options.setdefault("env", {})
    client = AsyncTensormesh(
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)), **options
    )
    client._transport.retry_policy = FAST_RETRIES
    return client


def sse(*events: object, done: bool = True) -> bytes:
    """A data-only SSE body of JSON events (and `[DONE]`)."""
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body + (b"data: [DONE]\n\n" if done else b"")


def chunk(content: str | None = None, *, reasoning: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning"] = reasoning
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}


def reply(status: int = 200, **kwargs: Any) -> Handler:
    """A handler answering every request with a fresh `httpx2.Response(status, **kwargs)`."""
    return lambda _request: httpx2.Response(status, **kwargs)


class Recorder:
    """A MockTransport handler that records requests; answers with the given handlers in turn
    (the last one repeats)."""

    def __init__(self, *answers: Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request)

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)
