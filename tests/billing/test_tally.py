"""UsageTally: the usage chunk the client did not ask for is hidden, content chunks are counted
(whatever way the bytes are split), and the engine's usage wins when it arrives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tensormesh_server.metering.tally import UsageTally, token_counts


def event(payload: dict[str, Any] | str, newline: bytes = b"\n") -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return b"data: " + data.encode() + newline + newline


def content(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


USAGE = {
    "choices": [],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4},
    },
}
ROLE = {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
STREAM = [
    event(ROLE),
    event(content("a")),
    event(content("b")),
    event(content("c")),
    event(USAGE),
    event("[DONE]"),
]


def relay_all(tally: UsageTally, chunks: list[bytes]) -> bytes:
    return b"".join(tally.relay(chunk) for chunk in chunks) + tally.rest()


def test_asks_for_usage_and_hides_it_from_a_client_that_did_not() -> None:
    tally = UsageTally()
    sent = tally.ask_for_usage({"model": "m", "stream": True})
    assert sent["stream_options"] == {"include_usage": True}
    out = relay_all(tally, STREAM)
    assert out == b"".join(STREAM[:4] + STREAM[5:])
    assert tally.counts() == (12, 3, 4)
    assert tally.generated == 3
    assert tally.ttft_ms() is not None


def test_keeps_the_usage_chunk_when_the_client_asked() -> None:
    tally = UsageTally()
    body = {"stream": True, "stream_options": {"include_usage": True}}
    assert tally.ask_for_usage(body) is body
    assert relay_all(tally, STREAM) == b"".join(STREAM)
    assert tally.counts() == (12, 3, 4)


@pytest.mark.parametrize("size", [1, 7, 50])
def test_any_split_of_the_bytes_gives_the_same_result(size: int) -> None:
    whole = b"".join(STREAM)
    pieces = [whole[i : i + size] for i in range(0, len(whole), size)]
    tally = UsageTally()
    tally.ask_for_usage({"stream": True})
    assert relay_all(tally, pieces) == b"".join(STREAM[:4] + STREAM[5:])
    assert tally.counts() == (12, 3, 4)


def test_crlf_events_are_understood() -> None:
    stream = [event(content("x"), b"\r\n"), event(USAGE, b"\r\n"), event("[DONE]", b"\r\n")]
    tally = UsageTally()
    tally.ask_for_usage({"stream": True})
    assert relay_all(tally, stream) == stream[0] + stream[2]
    assert tally.counts() == (12, 3, 4)


def test_an_abandoned_stream_counts_the_chunks_it_generated() -> None:
    tally = UsageTally()
    tally.ask_for_usage({"stream": True})
    relay_all(tally, STREAM[:3])  # the client went away after two tokens
    assert tally.usage is None
    assert tally.counts() == (0, 2, 0)


def test_completions_text_chunks_are_counted() -> None:
    tally = UsageTally()
    chunk = {"choices": [{"index": 0, "text": "hi", "finish_reason": None}]}
    relay_all(tally, [event(chunk), event(chunk)])
    assert tally.counts() == (0, 2, 0)


def test_a_whole_answer_gives_its_usage() -> None:
    tally = UsageTally()
    tally.seen(json.dumps({"choices": [], "usage": USAGE["usage"]}).encode())
    assert tally.counts() == (12, 3, 4)
    tally.seen(b"not json")
    assert tally.counts() == (12, 3, 4)


def test_token_counts_tolerate_odd_usage() -> None:
    assert token_counts(None) == (0, 0, 0)
    assert token_counts({"prompt_tokens": "7", "completion_tokens": True}) == (0, 0, 0)
    assert token_counts({"input_tokens": 3, "output_tokens": 2}) == (3, 2, 0)
    cached_more = {"prompt_tokens": 2, "prompt_tokens_details": {"cached_tokens": 9}}
    assert token_counts(cached_more) == (2, 0, 2)
