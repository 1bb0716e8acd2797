"""A minimal, fast OpenAI-compatible responder: a raw asyncio protocol (uvloop when available).

It answers `POST /v1/chat/completions` with a canned chat completion, or, with `"stream": true`,
with `max_tokens` chat chunks (default 16) as Server-Sent Events in HTTP chunked framing, one
HTTP chunk per event, written at once; `GET /health` and `GET /v1/models` too. It keeps
connections alive and caches every answer, so that per request it costs far less than the clients
measured against it. Run it as its own process: `python -m bench.responder --port N`.
With `--delay SECONDS`, each chat completion is answered after that service time (a timer, not
CPU): a stand-in for a fast model server, where the gateway is not the only thing that counts.

The shared `tensormesh_server.testing.fake_upstream` (uvicorn + an ASGI app) answers 2.5-3x
fewer requests per second (e.g. 44k vs 122k with 16 in flight on the 2-core machine where this
was written), which would hide part of the client overhead behind server time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from typing import Any, cast

_CHUNK_WORD = " token"


def _completion(model: str) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "system_fingerprint": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the bench responder."},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 6,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _event(payload: Any) -> bytes:
    data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _stream(model: str, count: int, include_usage: bool) -> bytes:
    """`count` content chunks, a finish chunk, the usage chunk if asked, [DONE]: chunked bytes."""
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "system_fingerprint": "bench",
    }
    events = [
        _event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    ]
    word = _event(
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": _CHUNK_WORD},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
    )
    events.extend([word] * count)
    finish = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}
    events.append(_event({**base, "choices": [finish]}))
    if include_usage:
        usage = {"prompt_tokens": 9, "completion_tokens": count, "total_tokens": 9 + count}
        events.append(_event({**base, "choices": [], "usage": usage}))
    events.append(b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
    return b"".join(events)


def _head(status: str, content_type: bytes, length: int | None) -> bytes:
    framing = b"transfer-encoding: chunked" if length is None else b"content-length: %d" % length
    return b"HTTP/1.1 %s\r\ncontent-type: %s\r\n%s\r\n\r\n" % (
        status.encode(),
        content_type,
        framing,
    )


def _json_answer(body: bytes, status: str = "200 OK") -> bytes:
    return _head(status, b"application/json", len(body)) + body


_HEALTH = _json_answer(b'{"status":"ok"}')
_MODELS = _json_answer(b'{"object":"list","data":[{"id":"fake","object":"model"}]}')
_NOT_FOUND = _json_answer(b'{"error":{"message":"not found"}}', "404 Not Found")
_BAD = _json_answer(b'{"error":{"message":"bad request"}}', "400 Bad Request")


class Answers:
    """Every answer built once and kept."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, bool], bytes] = {}

    def chat(self, body: bytes) -> bytes:
        try:
            request = json.loads(body)
            model = str(request.get("model", ""))
            stream = bool(request.get("stream"))
            count = int(request.get("max_tokens") or 16)
            include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        except (ValueError, AttributeError, TypeError):
            return _BAD
        key = (model, count if stream else -1, include_usage and stream)
        answer = self._cache.get(key)
        if answer is None:
            if stream:
                answer = _head("200 OK", b"text/event-stream", None)
                answer += _stream(model, count, include_usage)
            else:
                answer = _json_answer(_completion(model))
            self._cache[key] = answer
        return answer


class ResponderProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; requests carry a content-length body."""

    def __init__(self, answers: Answers, delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            length = 0
            start = head.lower().find(b"\r\ncontent-length:")
            if start >= 0:
                stop = head.find(b"\r\n", start + 2)
                length = int(head[start + 17 : stop if stop > 0 else len(head)])
            total = end + 4 + length
            if len(buffer) < total:
                break
            body = buffer[end + 4 : total]
            buffer = buffer[total:]
            self._answer(head, body)
        self.buffer = buffer

    def _answer(self, head: bytes, body: bytes) -> None:
        line = head[: head.find(b"\r\n")] if b"\r\n" in head else head
        method, _, rest = line.partition(b" ")
        path = rest.partition(b" ")[0].partition(b"?")[0]
        if method == b"POST" and path == b"/v1/chat/completions":
            answer = self.answers.chat(body)
            if self.delay:  # like `await asyncio.sleep(delay)` before answering
                asyncio.get_running_loop().call_later(self.delay, self._write, answer)
                return
        elif path == b"/health":
            answer = _HEALTH
        elif path == b"/v1/models":
            answer = _MODELS
        else:
            answer = _NOT_FOUND
        self._write(answer)

    def _write(self, answer: bytes) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.write(answer)


async def serve(host: str, port: int, delay: float = 0.0) -> None:
    """Serve until cancelled; chat completions are answered after `delay` seconds."""
    loop = asyncio.get_running_loop()
    answers = Answers()
    server = await loop.create_server(
        lambda: ResponderProtocol(answers, delay), host, port, backlog=1024, reuse_address=True
    )
    async with server:
        await server.serve_forever()


def run_loop(main: Any) -> Any:
    """Run a coroutine on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="service time per completion")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(serve(args.host, args.port, args.delay))


if __name__ == "__main__":
    main()
