"""The SSE decoder follows the WHATWG rules whatever the chunking."""

from __future__ import annotations

import pytest

from tensormesh._sse import ServerSentEvent, SSEDecoder, iter_sse


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    return list(iter_sse(chunks))


def test_data_only_events() -> None:
    assert decode(b"data: one\n\ndata: two\n\n") == [ServerSentEvent("one"), ServerSentEvent("two")]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_every_line_ending(eol: bytes) -> None:
    body = b"event: add" + eol + b"data: a" + eol + b"data: b" + eol + eol
    assert decode(body) == [ServerSentEvent("a\nb", event="add")]


def test_crlf_split_across_chunks_counts_once() -> None:
    events = decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert events == [ServerSentEvent("a\nb")]


def test_lone_cr_then_lf_in_next_chunk_starting_a_new_line() -> None:
    # "\r" ends a line; an "\n" right after it in the next chunk is part of the same line end.
    assert decode(b"data: x\r", b"\n", b"\r\n") == [ServerSentEvent("x")]


def test_comments_unknown_fields_and_field_without_colon() -> None:
    body = b": keep-alive\nfoo: bar\ndata\n\n:comment\ndata:no-space\n\n"
    assert decode(body) == [ServerSentEvent(""), ServerSentEvent("no-space")]


def test_only_one_leading_space_is_stripped() -> None:
    assert decode(b"data:  two spaces\n\n")[0].data == " two spaces"


def test_event_id_and_retry() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"id: 7\nretry: 1500\nevent: tick\ndata: 1\n\ndata: 2\n\n")
    assert events[0] == ServerSentEvent("1", event="tick", id="7", retry=1500)
    assert events[1] == ServerSentEvent("2", event="message", id="7")  # id persists
    assert decoder.last_event_id == "7"


def test_invalid_retry_and_id_with_nul_are_ignored() -> None:
    events = decode(b"id: 1\n\ndata: a\nretry: 10s\nid: x\x00y\n\n")
    assert events == [ServerSentEvent("a", id="1")]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode(b"event: ping\n\nid: 3\n\n") == []


def test_bom_at_start_is_dropped_even_when_split() -> None:
    assert decode(b"\xef\xbb", b"\xbfdata: x\n\n") == [ServerSentEvent("x")]
    # later in the stream a BOM is part of the field name, so that line is an unknown field
    assert decode(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent("a")]


def test_utf8_split_inside_a_character() -> None:
    text = "data: héllo ✓\n\n".encode()
    assert decode(*[text[i : i + 1] for i in range(len(text))]) == [ServerSentEvent("héllo ✓")]


def test_incomplete_event_at_end_is_not_dispatched_but_reported() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: done\n\ndata: {"partial') == [ServerSentEvent("done")]
    assert decoder.ended_mid_event
    complete = SSEDecoder()
    complete.feed(b"data: x\n\n")
    assert not complete.ended_mid_event
    fields_only = SSEDecoder()
    fields_only.feed(b"data: x\n")
    assert fields_only.ended_mid_event


SAMPLE = (
    b"\xef\xbb\xbf: comment\r\n"
    b"event: response.created\r\n"
    b'data: {"type": "response.created"}\r\n\r\n'
    b"data: line one\rdata: line two\r\r"
    b"id: 42\n"
    b"data: caf\xc3\xa9\n"
    b"retry: 100\n\n"
    b"data\n\n"
    b"event: x\n"
    b"data:  spaced\r\n\r\n"
    b"data: [DONE]\n\n"
)


def test_every_split_point_gives_the_same_events() -> None:
    expected = decode(SAMPLE)
    assert [e.data for e in expected] == [
        '{"type": "response.created"}',
        "line one\nline two",
        "café",
        "",
        " spaced",
        "[DONE]",
    ]
    for i in range(len(SAMPLE) + 1):
        assert decode(SAMPLE[:i], SAMPLE[i:]) == expected, i
    for i in range(len(SAMPLE)):
        for j in range(i, len(SAMPLE) + 1, 7):
            assert decode(SAMPLE[:i], SAMPLE[i:j], SAMPLE[j:]) == expected, (i, j)


def test_byte_by_byte() -> None:
    assert decode(*[SAMPLE[i : i + 1] for i in range(len(SAMPLE))]) == decode(SAMPLE)
