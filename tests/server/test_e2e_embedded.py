"""The real server with the embedded model, driven by raw httpx2 and the official openai client."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest

from tests.conftest import EMBEDDED_MODEL
from tests.support.servers import RunningServer

pytestmark = pytest.mark.slow

MESSAGES = [{"role": "user", "content": "Say hello."}]


def auth(server: RunningServer) -> dict[str, str]:
    return {"authorization": f"Bearer {server.api_key}"}


def sse_payloads(text: str) -> list[Any]:
    payloads = []
    for block in text.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: ") and line != "data: [DONE]":
                payloads.append(json.loads(line[6:]))
    return payloads


def test_chat_raw(server: RunningServer) -> None:
    body = {"model": EMBEDDED_MODEL, "messages": MESSAGES, "max_tokens": 5}
    response = httpx2.post(
        f"{server.serverless_url}/v1/chat/completions", json=body, headers=auth(server), timeout=60
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["object"] == "chat.completion"
    assert answer["model"] == EMBEDDED_MODEL
    assert answer["choices"][0]["message"]["content"]
    usage = answer["usage"]
    assert usage["completion_tokens"] <= 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_stream_raw_with_usage(server: RunningServer) -> None:
    body = {
        "model": EMBEDDED_MODEL,
        "messages": MESSAGES,
        "max_tokens": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with httpx2.stream(
        "POST",
        f"{server.serverless_url}/v1/chat/completions",
        json=body,
        headers=auth(server),
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    assert text.rstrip().endswith("data: [DONE]")
    chunks = sse_payloads(text)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    content = "".join(
        (c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"]
    )
    assert content
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] <= 5


def test_repeated_prompt_reports_cached_tokens(server: RunningServer) -> None:
    messages = [{"role": "user", "content": "Name three colours of the rainbow, please."}]
    body = {"model": EMBEDDED_MODEL, "messages": messages, "max_tokens": 2, "temperature": 0}
    url = f"{server.serverless_url}/v1/chat/completions"
    httpx2.post(url, json=body, headers=auth(server), timeout=60).raise_for_status()
    second = httpx2.post(url, json=body, headers=auth(server), timeout=60).json()
    assert second["usage"]["prompt_tokens_details"]["cached_tokens"] > 0


def test_openai_client_every_route(server: RunningServer) -> None:
    client = openai.OpenAI(
        base_url=f"{server.serverless_url}/v1", api_key=server.api_key, max_retries=0
    )
    chat = client.chat.completions.create(model=EMBEDDED_MODEL, messages=MESSAGES, max_tokens=5)
    assert chat.choices[0].message.content
    assert chat.usage is not None
    assert chat.usage.prompt_tokens_details is not None

    stream = client.chat.completions.create(
        model=EMBEDDED_MODEL,
        messages=MESSAGES,
        max_completion_tokens=5,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None

    completion = client.completions.create(
        model=EMBEDDED_MODEL, prompt="Once upon a time", max_tokens=5
    )
    assert completion.choices[0].text
    pieces = [
        c.choices[0].text
        for c in client.completions.create(
            model=EMBEDDED_MODEL, prompt="Once upon a time", max_tokens=5, stream=True
        )
        if c.choices
    ]
    assert "".join(pieces)

    response = client.responses.create(model=EMBEDDED_MODEL, input="Say hi.", max_output_tokens=5)
    assert response.output_text
    assert response.usage is not None
    assert response.usage.input_tokens > 0

    events = list(
        client.responses.create(
            model=EMBEDDED_MODEL, input="Say hi.", max_output_tokens=5, stream=True
        )
    )
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == events[-1].response.output_text

    models = client.models.list()
    assert [m.id for m in models.data] == [EMBEDDED_MODEL]


def test_openai_client_errors(server: RunningServer) -> None:
    client = openai.OpenAI(
        base_url=f"{server.serverless_url}/v1", api_key=server.api_key, max_retries=0
    )
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=MESSAGES, max_tokens=2)
    assert "GET /v1/models" in str(missing.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=EMBEDDED_MODEL, messages=MESSAGES, temperature=0, n=2)
    wrong = openai.OpenAI(
        base_url=f"{server.serverless_url}/v1", api_key="tmcp_not-a-key", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as denied:
        wrong.chat.completions.create(model=EMBEDDED_MODEL, messages=MESSAGES, max_tokens=2)
    assert "control-plane access token" in str(denied.value)


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "  leading and  double  spaces ",
        "line one\nline two\n\ttabbed",
        "héllo wörld — ünïcödé ✓ 日本語 🙂",
    ],
)
def test_tokenize_round_trip(server: RunningServer, text: str) -> None:
    url = server.serverless_url
    body = {
        "model": EMBEDDED_MODEL,
        "prompt": text,
        "add_special_tokens": False,
        "return_token_strs": True,
    }
    tokens = httpx2.post(f"{url}/tokenize", json=body, headers=auth(server), timeout=30).json()
    assert tokens["count"] == len(tokens["tokens"]) == len(tokens["token_strs"]) > 0
    assert tokens["max_model_len"] > 0
    back = httpx2.post(
        f"{url}/detokenize",
        json={"model": EMBEDDED_MODEL, "tokens": tokens["tokens"]},
        headers=auth(server),
        timeout=30,
    )
    assert back.json() == {"prompt": text}


def test_tokenize_messages_applies_the_chat_template(server: RunningServer) -> None:
    url = f"{server.serverless_url}/tokenize"
    plain = {"model": EMBEDDED_MODEL, "prompt": "Hi", "add_special_tokens": False}
    templated = {"model": EMBEDDED_MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    plain_count = httpx2.post(url, json=plain, headers=auth(server), timeout=30).json()["count"]
    chat_count = httpx2.post(url, json=templated, headers=auth(server), timeout=30).json()["count"]
    assert chat_count > plain_count


def test_read_only_routes_need_no_key(server: RunningServer) -> None:
    url = server.serverless_url
    assert httpx2.get(f"{url}/health").json() == {"status": "healthy"}
    assert httpx2.get(f"{url}/version").json()["version"]
    models = httpx2.get(f"{url}/v1/models").json()["data"]
    assert models[0]["id"] == EMBEDDED_MODEL
    assert models[0]["max_model_len"] > 0
    response = httpx2.get(f"{url}/version", headers={"x-request-id": "abc-1"})
    assert response.headers["x-request-id"] == "abc-1"


def test_post_routes_need_a_key(server: RunningServer) -> None:
    for path in (
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/responses",
        "/tokenize",
        "/detokenize",
    ):
        response = httpx2.post(f"{server.serverless_url}{path}", json={"model": EMBEDDED_MODEL})
        assert response.status_code == 401
        assert "inference API key" in response.json()["error"]["message"]
        assert response.headers["x-request-id"]


def test_metrics_after_traffic(server: RunningServer) -> None:
    body = {"model": EMBEDDED_MODEL, "prompt": "Hi", "max_tokens": 2}
    httpx2.post(
        f"{server.serverless_url}/v1/completions", json=body, headers=auth(server), timeout=60
    )
    text = httpx2.get(f"{server.serverless_url}/metrics").text
    assert (
        f'tensormesh_requests_total{{route="completions",model="{EMBEDDED_MODEL}",status="200"}}'
        in text
    )
    assert f'tensormesh_tokens_total{{model="{EMBEDDED_MODEL}",kind="completion"}}' in text
    assert f'tensormesh_requests_in_flight{{model="{EMBEDDED_MODEL}"}} 0' in text
