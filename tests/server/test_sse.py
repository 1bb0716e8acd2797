"""SSE framing, reading, usage observation and the Responses event stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tensormesh_server import responses_api, sse
from tensormesh_server.errors import APIError


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in stream]


def test_encode_frames_one_event() -> None:
    assert sse.encode({"a": "é"}) == 'data: {"a":"é"}\n\n'.encode()
    assert sse.encode({"type": "x"}, "x") == b'event: x\ndata: {"type":"x"}\n\n'


def test_error_event_has_error_key() -> None:
    event = sse.error_event(APIError(502, "boom", type="upstream_error"))
    payload = json.loads(event.removeprefix(b"data: "))
    assert payload["error"]["message"] == "boom"
    assert event.endswith(b"\n\n")


async def test_data_events_handles_split_lines_and_crlf() -> None:
    parts = (b'data: {"a"', b":1}\r", b"\n\r\ndata: x\ndata:y\n", b"\n: comment\n\ndata: [DONE]")
    assert await collect(sse.data_events(chunks_of(*parts))) == ['{"a":1}', "x\ny", "[DONE]"]


def test_to_chat_translates_a_responses_request() -> None:
    body = {
        "model": "m",
        "instructions": "be brief",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
        ],
        "max_output_tokens": 9,
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "s", "schema": {}}},
        "top_k": 4,
    }
    chat = responses_api.to_chat(body)
    assert chat["messages"][0] == {"role": "system", "content": "be brief"}
    assert chat["messages"][1] == {"role": "user", "content": "hi"}
    assert chat["messages"][2]["tool_calls"][0]["function"]["name"] == "f"
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "42"}
    assert chat["max_tokens"] == 9
    assert chat["tools"][0]["function"]["name"] == "f"
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert chat["response_format"]["json_schema"]["name"] == "s"
    assert chat["top_k"] == 4
    assert "input" not in chat
    assert "instructions" not in chat


def chat_chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = (
        []
        if "usage" in extra
        else [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]
    )
    return b"data: " + json.dumps({"choices": choices, **extra}).encode() + b"\n\n"


def parse_events(stream: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in stream.decode().split("\n\n"):
        if not block or block == "data: [DONE]":
            continue
        event_line, data_line = block.split("\n")
        kind = event_line.removeprefix("event: ")
        payload = json.loads(data_line.removeprefix("data: "))
        assert payload["type"] == kind
        events.append((kind, payload))
    return events


async def test_responses_stream_events() -> None:
    usage = {
        "prompt_tokens": 4,
        "completion_tokens": 2,
        "prompt_tokens_details": {"cached_tokens": 3},
    }
    upstream = chunks_of(
        chat_chunk("Hel"),
        chat_chunk("lo", "stop"),
        chat_chunk(usage=usage),
        b"data: [DONE]\n\n",
    )
    builder = responses_api.ResponseBuilder({"model": "m", "input": "x"}, "m")
    raw = b"".join(await collect(responses_api.stream_events(builder, upstream)))
    assert raw.endswith(b"data: [DONE]\n\n")
    events = parse_events(raw)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert [e["delta"] for k, e in events if k == "response.output_text.delta"] == ["Hel", "lo"]
    assert [e["sequence_number"] for _, e in events] == list(range(len(events)))
    done = dict(events)["response.output_text.done"]
    assert done["text"] == "Hello"
    final = events[-1][1]["response"]
    assert final["status"] == "completed"
    assert final["output"][0]["content"][0]["text"] == "Hello"
    assert final["usage"]["input_tokens"] == 4
    assert final["usage"]["prompt_tokens_details"]["cached_tokens"] == 3
    assert final["id"].startswith("resp_")


async def test_responses_stream_raises_on_engine_error_event() -> None:
    upstream = chunks_of(b'data: {"error": {"message": "engine fell over"}}\n\n')
    builder = responses_api.ResponseBuilder({"model": "m", "input": "x"}, "m")
    with pytest.raises(APIError, match="engine fell over"):
        await collect(responses_api.stream_events(builder, upstream))


def test_response_from_chat_with_tool_call() -> None:
    builder = responses_api.ResponseBuilder({"model": "m", "input": "x"}, "m")
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    answer = {
        "choices": [
            {"message": {"content": None, "tool_calls": [call]}, "finish_reason": "tool_calls"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }
    response = builder.from_chat(answer)
    assert response["output"] == [
        {
            "id": response["output"][0]["id"],
            "type": "function_call",
            "call_id": "call_1",
            "name": "f",
            "arguments": "{}",
            "status": "completed",
        }
    ]
    assert response["usage"]["total_tokens"] == 2


async def test_responses_stream_with_tool_call_keeps_item_ids() -> None:
    def call_chunk(**function: str) -> bytes:
        delta = {"tool_calls": [{"index": 0, "id": "call_9", "function": function}]}
        return (
            b"data: " + json.dumps({"choices": [{"index": 0, "delta": delta}]}).encode() + b"\n\n"
        )

    upstream = chunks_of(
        call_chunk(name="get_weather"),
        call_chunk(arguments='{"city":'),
        call_chunk(arguments='"Oslo"}'),
    )
    builder = responses_api.ResponseBuilder({"model": "m", "input": "x"}, "m")
    events = parse_events(b"".join(await collect(responses_api.stream_events(builder, upstream))))
    done_items = [e["item"] for k, e in events if k == "response.output_item.done"]
    final = events[-1][1]["response"]["output"]
    assert done_items == final
    assert final[1]["type"] == "function_call"
    assert (final[1]["name"], final[1]["arguments"], final[1]["call_id"]) == (
        "get_weather",
        '{"city":"Oslo"}',
        "call_9",
    )
