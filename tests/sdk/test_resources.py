"""Requests built by the resources (dicts or models, unset fields, per-call options) and the
results (typed, unknown fields kept, raw and streamed raw responses), sync and async alike."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

import tensormesh
from tensormesh import NOT_GIVEN, RawResponse
from tensormesh.types import ChatCompletion, ChatMessage, ModelList, TokenizeResponse

from .conftest import Recorder, async_client, chunk, reply, sse, sync_client

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "<think>hmm</think>4", "future": "x"},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 3,
        "completion_tokens": 1,
        "total_tokens": 4,
        "prompt_tokens_details": {"cached_tokens": 2},
    },
    "system_fingerprint": "fp",
}


def chat_recorder() -> Recorder:
    return Recorder(reply(200, json=COMPLETION, headers={"x-request-id": "rid-1"}))


async def create_chat(mode: str, recorder: Recorder, **params: Any) -> ChatCompletion:
    if mode == "sync":
        with sync_client(recorder) as client:
            return client.inference.serverless.chat.completions.create(**params)
    async with async_client(recorder) as client:
        return await client.inference.serverless.chat.completions.create(**params)


async def test_chat_result_is_typed_and_keeps_unknown_fields(mode: str) -> None:
    recorder = chat_recorder()
    result = await create_chat(
        mode, recorder, model="m", messages=[{"role": "user", "content": "2+2"}]
    )
    assert isinstance(result, ChatCompletion)
    message = result.choices[0].message
    assert (message.content, message.reasoning) == ("4", "hmm")
    assert message.model_extra == {"future": "x"}
    assert result.model_extra == {"system_fingerprint": "fp"}
    assert result.usage is not None
    assert result.usage.prompt_tokens_details is not None
    assert result.usage.prompt_tokens_details.cached_tokens == 2


async def test_dicts_and_models_give_the_same_body(mode: str) -> None:
    as_dicts, as_models = chat_recorder(), chat_recorder()
    messages: list[Any] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    await create_chat(mode, as_dicts, model="m", messages=messages)
    models = [
        ChatMessage(role="system", content="be brief"),
        ChatMessage(role="user", content="hi"),
    ]
    await create_chat(mode, as_models, model="m", messages=models)
    assert as_dicts.requests[0].content == as_models.requests[0].content
    assert as_dicts.bodies[0] == {"model": "m", "messages": messages}


async def test_unset_fields_are_not_sent_but_none_is(mode: str) -> None:
    recorder = chat_recorder()
    await create_chat(
        mode,
        recorder,
        model="m",
        messages=[],
        temperature=0,
        seed=NOT_GIVEN,
        user=None,
        stop=["\n"],
    )
    assert recorder.bodies[0] == {
        "model": "m",
        "messages": [],
        "temperature": 0,
        "user": None,
        "stop": ["\n"],
    }


async def test_per_call_options(mode: str) -> None:
    recorder = chat_recorder()
    await create_chat(
        mode,
        recorder,
        model="m",
        messages=[],
        extra_body={"top_k": 5, "vendor": {"x": 1}},
        extra_headers={"X-Trace": "t1"},
        timeout=2.5,
    )
    request = recorder.requests[0]
    assert recorder.bodies[0] == {"model": "m", "messages": [], "top_k": 5, "vendor": {"x": 1}}
    assert request.headers["x-trace"] == "t1"
    assert request.extensions["timeout"] == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}
    assert request.headers["user-agent"] == f"tensormesh-python/{tensormesh.__version__}"
    assert request.headers["authorization"] == "Bearer tm-key-secret"
    assert len(request.headers["x-request-id"]) >= 16
    assert str(request.url) == "http://serverless.test/v1/chat/completions"


async def test_default_timeout_comes_from_the_client(mode: str) -> None:
    recorder = chat_recorder()
    if mode == "sync":
        with sync_client(recorder, timeout=9) as client:
            client.inference.serverless.chat.completions.create(model="m", messages=[])
    else:
        async with async_client(recorder, timeout=9) as client:
            await client.inference.serverless.chat.completions.create(model="m", messages=[])
    assert recorder.requests[0].extensions["timeout"]["read"] == 9


def test_invalid_per_call_timeout_and_unserialisable_body_are_sdk_errors() -> None:
    with sync_client(chat_recorder()) as client:
        chat = client.inference.serverless.chat.completions
        with pytest.raises(tensormesh.TensormeshError, match="timeout"):
            chat.create(model="m", messages=[], timeout=-1)
        with pytest.raises(tensormesh.TensormeshError, match="JSON"):
            chat.create(model="m", messages=[], extra_body={"x": object()})


def test_every_serverless_route() -> None:
    def route(request: httpx2.Request) -> httpx2.Response:
        answers: dict[str, Any] = {
            "/v1/completions": {"choices": [{"index": 0, "text": "t"}]},
            "/v1/responses": {"id": "resp_1", "output": []},
            "/tokenize": {"count": 2, "max_model_len": 8, "tokens": [1, 2]},
            "/detokenize": {"prompt": "ab"},
            "/v1/models": {"object": "list", "data": [{"id": "m", "max_model_len": 8}]},
            "/health": {"status": "healthy"},
            "/version": {"version": "1.2.3"},
        }
        return httpx2.Response(200, json=answers[request.url.path])

    recorder = Recorder(route)
    with sync_client(recorder) as client:
        s = client.inference.serverless
        assert s.completions.create(model="m", prompt="p").choices[0].text == "t"
        assert s.responses.create(model="m", input="i", instructions="be nice").id == "resp_1"
        tokens = s.tokenize.create(model="m", prompt="ab", add_special_tokens=False)
        assert isinstance(tokens, TokenizeResponse)
        assert tokens.tokens == [1, 2]
        assert s.detokenize.create(model="m", tokens=tokens.tokens).prompt == "ab"
        models = s.models.list()
        assert isinstance(models, ModelList)
        assert models.data[0].max_model_len == 8
        assert s.health.get().status == "healthy"
        assert s.version.get().version == "1.2.3"
    methods = [(r.method, r.url.path) for r in recorder.requests]
    assert methods == [
        ("POST", "/v1/completions"),
        ("POST", "/v1/responses"),
        ("POST", "/tokenize"),
        ("POST", "/detokenize"),
        ("GET", "/v1/models"),
        ("GET", "/health"),
        ("GET", "/version"),
    ]
    assert recorder.bodies[2] == {"model": "m", "prompt": "ab", "add_special_tokens": False}
    assert recorder.bodies[4] is None  # GET without a body


async def test_raw_response(mode: str) -> None:
    recorder = chat_recorder()
    if mode == "sync":
        with sync_client(recorder) as client:
            raw = client.inference.serverless.chat.completions.with_raw_response.create(
                model="m", messages=[]
            )
    else:
        async with async_client(recorder) as client:
            raw = await client.inference.serverless.chat.completions.with_raw_response.create(
                model="m", messages=[]
            )
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.headers["x-request-id"] == raw.request_id == "rid-1"
    assert raw.json()["system_fingerprint"] == "fp"
    assert json.loads(raw.text) == raw.json()
    parsed = raw.parse()
    assert isinstance(parsed, ChatCompletion)
    assert parsed is raw.parse()


def test_raw_response_of_a_stream_parses_to_a_stream() -> None:
    recorder = Recorder(reply(200, content=sse(chunk("x"), chunk("y"))))
    with sync_client(recorder) as client:
        raw = client.inference.serverless.chat.completions.with_raw_response.create(
            model="m", messages=[], stream=True
        )
        assert raw.status_code == 200
        assert "".join(raw.parse().text_deltas()) == "xy"


def test_streaming_response_sync() -> None:
    recorder = Recorder(
        reply(200, content=sse(chunk("x"), chunk("y"))), reply(200, json={"data": []})
    )
    with sync_client(recorder) as client:
        chat = client.inference.serverless.chat.completions
        with chat.with_streaming_response.create(model="m", messages=[], stream=True) as response:
            assert response.status_code == 200
            lines = [line for line in response.iter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        assert json.loads(lines[0][len("data: ") :])["choices"][0]["delta"]["content"] == "x"
        assert response.http_response.is_closed
        with client.inference.serverless.models.with_streaming_response.list() as response:
            assert response.parse().data == []


async def test_streaming_response_async() -> None:
    recorder = Recorder(
        reply(200, content=sse(chunk("x"), chunk("y"))), reply(200, json={"data": []})
    )
    async with async_client(recorder) as client:
        chat = client.inference.serverless.chat.completions
        async with chat.with_streaming_response.create(
            model="m", messages=[], stream=True
        ) as response:
            assert response.status_code == 200
            lines = [line async for line in response.iter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        assert response.http_response.is_closed
        async with client.inference.serverless.models.with_streaming_response.list() as listed:
            assert (await listed.parse()).data == []


def test_streaming_response_raises_status_errors_on_enter() -> None:
    recorder = Recorder(reply(401, json={"error": {"message": "an inference API key is needed"}}))
    with sync_client(recorder) as client:
        chat = client.inference.serverless.chat.completions
        with pytest.raises(tensormesh.AuthenticationError, match="inference API key"):  # noqa: SIM117
            with chat.with_streaming_response.create(model="m", messages=[]):
                pass


async def test_request_escape_hatch(mode: str) -> None:
    recorder = Recorder(reply(200, json={"ok": True}), reply(204))
    if mode == "sync":
        with sync_client(recorder) as client:
            s = client.inference.serverless
            first = s.request("GET", "/metrics-json", params={"a": 1, "skip": None})
            second = s.request("DELETE", "/v1/thing", headers={"x-extra": "1"})
            raw = s.with_raw_response.request("GET", "/v1/raw")
    else:
        async with async_client(recorder) as client:
            s2 = client.inference.serverless
            first = await s2.request("GET", "/metrics-json", params={"a": 1, "skip": None})
            second = await s2.request("DELETE", "/v1/thing", headers={"x-extra": "1"})
            raw = await s2.with_raw_response.request("GET", "/v1/raw")
    assert first == {"ok": True}
    assert second is None
    assert raw.status_code == 204
    assert str(recorder.requests[0].url) == "http://serverless.test/metrics-json?a=1"
    assert recorder.requests[1].headers["x-extra"] == "1"


def test_raw_stream_body_and_reread_give_sdk_errors() -> None:
    body = sse(chunk("x"))
    recorder = Recorder(
        reply(200, content=body),
        lambda _r: httpx2.Response(200, stream=httpx2.ByteStream(b'{"version": "2"}')),
        lambda _r: httpx2.Response(200, stream=httpx2.ByteStream(body)),
    )
    with sync_client(recorder) as client:
        s = client.inference.serverless
        raw = s.chat.completions.with_raw_response.create(model="m", messages=[], stream=True)
        with pytest.raises(tensormesh.TensormeshError, match="parse"):
            _ = raw.text
        raw.parse().close()
        with s.version.with_streaming_response.get() as version:
            assert version.read() == b'{"version": "2"}'
            assert version.json() == {"version": "2"}
            assert version.parse().version == "2"
        with s.chat.completions.with_streaming_response.create(
            model="m", messages=[], stream=True
        ) as response:
            assert b"".join(response.iter_bytes()) == body
            with pytest.raises(tensormesh.TensormeshError, match="cannot be read again"):
                response.read()
