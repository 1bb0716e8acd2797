"""The ASGI app in process, over the fake upstream: routes, errors, auth, headers, metrics."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from tensormesh_server.app import ServerlessApp
from tensormesh_server.testing.fake_upstream import FakeUpstream

MESSAGES = [{"role": "user", "content": "hi"}]


def assert_error(
    response: httpx2.Response, status: int, param: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["param"] == param
    assert response.headers["x-request-id"]
    return dict(error)


async def test_chat_completion_is_relayed(client: httpx2.AsyncClient, fake: FakeUpstream) -> None:
    body = {"model": "fake", "messages": MESSAGES, "max_completion_tokens": 3, "my_knob": 1}
    response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello from the fake upstream."
    assert fake.last_body is not None
    assert fake.last_body["max_tokens"] == 3
    assert "max_completion_tokens" not in fake.last_body
    assert fake.last_body["my_knob"] == 1


async def test_model_renamed_upstream_and_back(
    client: httpx2.AsyncClient, fake: FakeUpstream
) -> None:
    response = await client.post(
        "/v1/chat/completions", json={"model": "renamed", "messages": MESSAGES}
    )
    assert response.json()["model"] == "renamed"
    assert fake.last_body is not None
    assert fake.last_body["model"] == "upstream-name"
    assert fake.last_headers["authorization"] == "Bearer upstream-secret"


async def test_streamed_completion_passes_bytes_through(client: httpx2.AsyncClient) -> None:
    body = {
        "model": "fake",
        "prompt": "x",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = await client.post("/v1/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    lines = [line for line in response.text.split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    assert '"usage"' in lines[-2]
    metrics = (await client.get("/metrics")).text
    assert 'tensormesh_tokens_total{model="fake",kind="completion"} 5' in metrics


async def test_responses_route(client: httpx2.AsyncClient, fake: FakeUpstream) -> None:
    body = {"model": "fake", "input": "hi", "instructions": "short", "max_output_tokens": 4}
    response = await client.post("/v1/responses", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["object"] == "response"
    assert answer["output"][0]["content"][0]["text"] == "Hello from the fake upstream."
    assert answer["usage"]["output_tokens"] == 5
    assert fake.last_body is not None
    assert fake.last_body["messages"][0] == {"role": "system", "content": "short"}
    assert fake.last_body["max_tokens"] == 4


async def test_tokenize_and_detokenize_are_forwarded(client: httpx2.AsyncClient) -> None:
    tokens = (await client.post("/tokenize", json={"model": "fake", "prompt": "ab"})).json()
    assert tokens["tokens"] == [97, 98]
    text = await client.post("/detokenize", json={"model": "fake", "tokens": tokens["tokens"]})
    assert text.json() == {"prompt": "ab"}


async def test_models_version_health(client: httpx2.AsyncClient) -> None:
    models = (await client.get("/v1/models")).json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["fake", "renamed"]
    assert set(models["data"][0]) == {
        "id",
        "object",
        "created",
        "owned_by",
        "root",
        "parent",
        "max_model_len",
    }
    assert (await client.get("/version")).json() == {"version": "9.9.9"}
    health = await client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "healthy"})


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/v1/chat/completions", {"messages": MESSAGES}, 400, "model"),
        ("/v1/chat/completions", {"model": "nope", "messages": MESSAGES}, 404, "model"),
        (
            "/v1/chat/completions",
            {"model": "fake", "messages": MESSAGES, "temperature": 0, "n": 2},
            400,
            "n",
        ),
        (
            "/v1/chat/completions",
            {"model": "fake", "messages": MESSAGES, "stream_options": {"include_usage": True}},
            400,
            "stream_options",
        ),
        (
            "/v1/chat/completions",
            {"model": "fake", "messages": MESSAGES, "max_tokens": "5"},
            400,
            "max_tokens",
        ),
        ("/v1/completions", {"model": "fake"}, 400, "prompt"),
        ("/v1/responses", {"model": "fake"}, 400, "input"),
        ("/tokenize", {"model": "fake"}, 400, "prompt"),
        ("/detokenize", {"model": "nope", "tokens": [1]}, 404, "model"),
    ],
)
async def test_validation_errors(
    client: httpx2.AsyncClient, path: str, body: dict[str, Any], status: int, param: str
) -> None:
    error = assert_error(await client.post(path, json=body), status, param)
    if status == 404:
        assert "GET /v1/models" in error["message"]
        assert error["code"] == "model_not_found"


async def test_bad_json(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", content=b"{not json")
    assert assert_error(response, 400)["code"] == "invalid_json"
    assert_error(await client.post("/v1/chat/completions", content=b"[1, 2]"), 400)


async def test_unknown_route_and_method(client: httpx2.AsyncClient) -> None:
    assert_error(await client.get("/v2/nothing"), 404)
    assert_error(await client.get("/v1/chat/completions"), 405)


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (None, "inference API key is needed"),
        ("Bearer wrong-key", "Invalid inference API key"),
        ("Basic abc", "inference API key is needed"),
        ("Bearer tmcp_0123456789", "control-plane access token"),
    ],
)
async def test_auth_failures(app: ServerlessApp, authorization: str | None, expected: str) -> None:
    headers = {"authorization": authorization} if authorization else {}
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://gateway"
    ) as anonymous:
        for path in (
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/responses",
            "/tokenize",
            "/detokenize",
        ):
            response = await anonymous.post(path, json={"model": "fake"}, headers=headers)
            error = assert_error(response, 401)
            assert expected in error["message"]
            assert "inference API key" in error["message"]
            assert error["type"] == "authentication_error"
        for path in ("/v1/models", "/health", "/version", "/metrics"):
            assert (await anonymous.get(path)).status_code == 200


async def test_request_id_is_echoed_or_generated(client: httpx2.AsyncClient) -> None:
    echoed = await client.get("/version", headers={"x-request-id": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    error = await client.post(
        "/v1/chat/completions", json={}, headers={"x-request-id": "trace-456"}
    )
    assert error.headers["x-request-id"] == "trace-456"
    first = (await client.get("/version")).headers["x-request-id"]
    second = (await client.get("/version")).headers["x-request-id"]
    assert first != second


async def test_request_id_reaches_the_upstream(
    client: httpx2.AsyncClient, fake: FakeUpstream
) -> None:
    body = {"model": "fake", "messages": MESSAGES}
    await client.post("/v1/chat/completions", json=body, headers={"x-request-id": "trace-789"})
    assert fake.last_headers["x-request-id"] == "trace-789"


async def test_metrics_count_requests_by_model_and_status(client: httpx2.AsyncClient) -> None:
    await client.post("/v1/chat/completions", json={"model": "fake", "messages": MESSAGES})
    await client.post("/v1/chat/completions", json={"model": "fake"})
    await client.post("/v1/chat/completions", json={"model": "ghost", "messages": MESSAGES})
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'tensormesh_requests_total{route="chat/completions",model="fake",status="200"} 1' in text
    assert 'tensormesh_requests_total{route="chat/completions",model="fake",status="400"} 1' in text
    assert 'tensormesh_requests_total{route="chat/completions",model="-",status="404"} 1' in text
    assert 'tensormesh_requests_in_flight{model="fake"} 0' in text
    assert 'tensormesh_tokens_total{model="fake",kind="prompt"} 5' in text
    assert 'le="+Inf"} 1' in text
    assert "# TYPE tensormesh_request_duration_seconds histogram" in text


async def test_upstream_errors_keep_our_shape(
    client: httpx2.AsyncClient, fake: FakeUpstream
) -> None:
    fake.status = 500
    response = await client.post(
        "/v1/chat/completions", json={"model": "fake", "messages": MESSAGES}
    )
    error = assert_error(response, 502)
    assert "fails on purpose" in error["message"]
    fake.status = 400
    streamed = {"model": "fake", "messages": MESSAGES, "stream": True}
    error = assert_error(await client.post("/v1/chat/completions", json=streamed), 400)
    assert "fails on purpose" in error["message"]


async def test_body_size_limit(client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tensormesh_server.asgi.MAX_BODY_BYTES", 64)
    body = {"model": "fake", "messages": [{"role": "user", "content": "x" * 100}]}
    assert_error(await client.post("/v1/chat/completions", json=body), 413)


async def test_streamed_responses_route(client: httpx2.AsyncClient, fake: FakeUpstream) -> None:
    body = {"model": "fake", "input": "hi", "stream": True}
    response = await client.post("/v1/responses", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    events = [b for b in response.text.split("\n\n") if b]
    assert events[0].startswith("event: response.created\n")
    assert events[-2].startswith("event: response.completed\n")
    assert events[-1] == "data: [DONE]"
    completed = json.loads(events[-2].split("data: ", 1)[1])
    assert completed["response"]["output"][0]["content"][0]["text"] == "".join(fake.words)
    assert fake.last_body is not None
    assert fake.last_body["stream_options"] == {"include_usage": True}
    metrics = (await client.get("/metrics")).text
    assert 'tensormesh_tokens_total{model="fake",kind="completion"} 5' in metrics
