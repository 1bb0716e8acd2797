"""Typed streams: events, [DONE], errors inside the stream, usage, text deltas, and that the
connection is closed on every path (sync and async)."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from tensormesh import APITimeoutError, ProtocolError, StreamError
from tensormesh.types import (
    ChatCompletionChunk,
    ResponseCompletedEvent,
    ResponseTextDeltaEvent,
)

from .conftest import Recorder, async_client, chunk, sse, sync_client

MESSAGES = [{"role": "user", "content": "hi"}]


class TrackedStream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A response body that yields the given chunks (an exception instance is raised), and
    records whether it was closed."""

    def __init__(self, *chunks: bytes | Exception) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for item in self.chunks:
            if isinstance(item, Exception):
                raise item
            yield item

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for item in self.chunks:
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def streaming(body: TrackedStream) -> Recorder:
    return Recorder(
        lambda _r: httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )


THINKING = sse(
    chunk(reasoning="plan "),
    chunk("<thi"),
    chunk("nk>inner</thi"),
    chunk("nk>\n\nHel"),
    chunk("lo"),
    {
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": 4,
            "completion_tokens": 2,
            "total_tokens": 6,
            "prompt_tokens_details": {"cached_tokens": 3},
        },
    },
)


def test_chunks_usage_done_and_close() -> None:
    body = TrackedStream(THINKING + sse(chunk("after done"), done=False))
    recorder = streaming(body)
    with sync_client(recorder) as client:
        stream = client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert len(chunks) == 6  # the chunk after [DONE] is not read
    assert chunks[1].choices[0].delta.content == "<thi"  # chunks are not rewritten
    assert stream.usage is not None
    assert stream.usage.total_tokens == 6
    assert stream.usage.prompt_tokens_details is not None
    assert stream.usage.prompt_tokens_details.cached_tokens == 3
    assert body.closed
    sent = recorder.bodies[0]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert recorder.requests[0].headers["accept"] == "text/event-stream"


def test_text_deltas_drop_split_think_block() -> None:
    with sync_client(streaming(TrackedStream(THINKING))) as client:
        stream = client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        assert list(stream.text_deltas()) == ["Hel", "lo"]
    assert stream.reasoning == "plan inner"
    assert stream.usage is not None


async def test_async_text_deltas_and_usage() -> None:
    body = TrackedStream(*[THINKING[i : i + 9] for i in range(0, len(THINKING), 9)])
    async with async_client(streaming(body)) as client:
        stream = await client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        assert "".join([t async for t in stream.text_deltas()]) == "Hello"
    assert stream.reasoning == "plan inner"
    assert stream.usage is not None
    assert stream.usage.completion_tokens == 2
    assert body.closed


def test_break_with_context_manager_closes() -> None:
    body = TrackedStream(THINKING)
    with sync_client(streaming(body)) as client:
        with client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        ) as stream:
            for _ in stream:
                break
            assert not body.closed
        assert body.closed


def test_close_before_iterating_and_garbage_collection_close() -> None:
    first, second = TrackedStream(THINKING), TrackedStream(THINKING)
    with sync_client(Recorder(lambda _r: httpx2.Response(200, stream=first))) as client:
        stream = client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        stream.close()
        assert first.closed
        assert list(stream) == []
    with sync_client(Recorder(lambda _r: httpx2.Response(200, stream=second))) as client:
        stream = client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        next(stream)
        del stream  # freed by reference counting: no cycle keeps it alive
        assert second.closed


async def test_async_break_then_close() -> None:
    body = TrackedStream(THINKING)
    async with async_client(streaming(body)) as client:
        stream = await client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        async with stream:
            async for _ in stream:
                break
        assert body.closed


ERROR_EVENT = sse(chunk("partial "), {"error": {"message": "engine crashed", "type": "server"}})


@pytest.mark.parametrize(
    ("chunks", "error", "match"),
    [
        ((ERROR_EVENT,), StreamError, "engine crashed"),
        ((sse(chunk("a"), done=False) + b'data: {"choi',), StreamError, "middle of an event"),
        ((sse(chunk("a"), done=False), httpx2.ReadTimeout("slow")), APITimeoutError, "no data"),
        ((sse(chunk("a"), done=False), httpx2.RemoteProtocolError("cut")), StreamError, "broke"),
        ((b"data: {not json}\n\n",), ProtocolError, "invalid event"),
    ],
)
def test_failures_inside_the_stream(
    chunks: tuple[bytes | Exception, ...], error: type[Exception], match: str
) -> None:
    body = TrackedStream(*chunks)
    with sync_client(streaming(body)) as client:
        stream = client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        seen: list[ChatCompletionChunk] = []
        with pytest.raises(error, match=match) as info:
            seen.extend(stream)
    assert body.closed
    assert len(seen) == (0 if b"not json" in chunks[0] else 1)  # type: ignore[operator]
    if isinstance(info.value, StreamError) and "crashed" in match:
        assert info.value.body == {"error": {"message": "engine crashed", "type": "server"}}
        assert info.value.request_id


async def test_async_failures_inside_the_stream() -> None:
    body = TrackedStream(sse(chunk("a"), done=False), httpx2.ReadTimeout("slow"))
    async with async_client(streaming(body)) as client:
        stream = await client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        with pytest.raises(APITimeoutError):
            async for _ in stream:
                pass
    assert body.closed


def test_stream_ending_cleanly_without_done_is_fine() -> None:
    with sync_client(streaming(TrackedStream(sse(chunk("a"), done=False)))) as client:
        stream = client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        assert list(stream.text_deltas()) == ["a"]
    assert stream.usage is None


RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "output": [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi!"}],
        }
    ],
    "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
}


def responses_sse() -> bytes:
    events = [
        {"type": "response.created", "response": {**RESPONSE, "status": "in_progress"}},
        {"type": "response.output_text.delta", "delta": "Hi", "output_index": 0},
        {"type": "response.output_text.delta", "delta": "!", "output_index": 0},
        {"type": "response.output_text.done", "text": "Hi!"},
        {"type": "response.vendor_extension", "anything": 1},
        {"type": "response.completed", "response": RESPONSE},
    ]
    body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
    return body + b"data: [DONE]\n\n"


def test_responses_stream_events_are_typed() -> None:
    with sync_client(streaming(TrackedStream(responses_sse()))) as client:
        stream = client.inference.serverless.responses.create(model="m", input="hi", stream=True)
        events = list(stream)
    assert [type(e).__name__ for e in events] == [
        "ResponseCreatedEvent",
        "ResponseTextDeltaEvent",
        "ResponseTextDeltaEvent",
        "ResponseTextDoneEvent",
        "ResponseStreamEvent",
        "ResponseCompletedEvent",
    ]
    assert isinstance(events[1], ResponseTextDeltaEvent)
    assert events[4].model_extra == {"anything": 1}
    completed = events[-1]
    assert isinstance(completed, ResponseCompletedEvent)
    assert completed.response.output_text == "Hi!"
    assert stream.usage is not None
    assert (stream.usage.prompt_tokens, stream.usage.completion_tokens) == (5, 2)


async def test_async_responses_text_deltas() -> None:
    async with async_client(streaming(TrackedStream(responses_sse()))) as client:
        stream = await client.inference.serverless.responses.create(
            model="m", input="hi", stream=True
        )
        assert [t async for t in stream.text_deltas()] == ["Hi", "!"]
        assert stream.usage is not None


def test_responses_failed_event_raises() -> None:
    failed = {"type": "response.failed", "response": {"error": {"message": "out of memory"}}}
    body = TrackedStream(f"event: response.failed\ndata: {json.dumps(failed)}\n\n".encode())
    with sync_client(streaming(body)) as client:
        stream = client.inference.serverless.responses.create(model="m", input="x", stream=True)
        with pytest.raises(StreamError, match="out of memory"):
            list(stream)


def test_completions_stream_text_deltas() -> None:
    body = sse(
        *({"object": "text_completion", "choices": [{"index": 0, "text": t}]} for t in "abc")
    )
    with sync_client(streaming(TrackedStream(body))) as client:
        stream = client.inference.serverless.completions.create(model="m", prompt="x", stream=True)
        assert "".join(stream.text_deltas()) == "abc"


async def test_async_stream_garbage_collected_unread_is_closed() -> None:
    body = TrackedStream(THINKING)
    async with async_client(streaming(body)) as client:
        await client.inference.serverless.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        gc.collect()
        await asyncio.sleep(0.01)
        assert body.closed
