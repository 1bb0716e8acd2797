"""A fast fake OpenAI-compatible upstream for tests and benchmarks.

`FakeUpstream` is a raw ASGI app answering chat completions, completions (streamed or not),
tokenize, detokenize, models and health with canned content, and counting what it saw.
`running_fake_upstream()` serves it with uvicorn in a background thread; run
`python -m tensormesh_server.testing.fake_upstream --port N` for a separate process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


class FakeUpstream:
    """Canned OpenAI-compatible answers; `words` are the generated tokens."""

    def __init__(
        self,
        name: str = "fake",
        words: tuple[str, ...] = ("Hello", " from", " the", " fake", " upstream."),
        chunk_delay: float = 0.0,
        status: int = 200,
    ) -> None:
        self.name = name
        self.words = words
        self.chunk_delay = chunk_delay
        self.status = status
        self.requests = 0
        self.in_flight = 0
        self.cancelled = 0
        self.last_body: dict[str, Any] | None = None
        self.last_headers: dict[str, str] = {}
        self._canned: dict[str, bytes] = {}

    def _answer(self, route: str, model: str) -> bytes:
        key = f"{route}\0{model}"
        if key not in self._canned:
            text = "".join(self.words)
            if route == "completions":
                choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": "stop"}
                kind = "text_completion"
            else:
                message = {"role": "assistant", "content": text}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                kind = "chat.completion"
            body = {
                "id": f"cmpl-{self.name}",
                "object": kind,
                "created": 1700000000,
                "model": model,
                "choices": [choice],
                "usage": _usage(5, len(self.words)),
            }
            self._canned[key] = json.dumps(body).encode()
        return self._canned[key]

    def _chunk(self, route: str, model: str, word: str | None, usage: bool = False) -> bytes:
        if route == "completions":
            kind = "text_completion"
            choices: list[Any] = [{"index": 0, "text": word or "", "finish_reason": None}]
        else:
            kind = "chat.completion.chunk"
            delta = {"content": word} if word is not None else {}
            choices = [{"index": 0, "delta": delta, "finish_reason": None}]
        if word is None:
            choices[0]["finish_reason"] = "stop"
        chunk: dict[str, Any] = {"id": f"cmpl-{self.name}", "object": kind, "model": model}
        chunk["choices"] = [] if usage else choices
        if usage:
            chunk["usage"] = _usage(5, len(self.words))
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        self.last_headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        raw = b""
        more = True
        while more:
            message = await receive()
            raw += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] == "GET":
            if path == "/health":
                await _send(send, 200, b'{"status":"ok"}')
            elif path == "/v1/models":
                await _send(send, 200, b'{"object":"list","data":[]}')
            else:
                await _send(send, 404, b'{"error":{"message":"not found"}}')
            return
        body: dict[str, Any] = json.loads(raw) if raw else {}
        self.last_body = body
        self.requests += 1
        if self.status != 200:
            error = {"error": {"message": f"{self.name} fails on purpose", "type": "server_error"}}
            await _send(send, self.status, json.dumps(error).encode())
            return
        if path == "/tokenize":
            tokens = [ord(c) for c in str(body.get("prompt", ""))]
            answer = {"count": len(tokens), "max_model_len": 4096, "tokens": tokens}
            await _send(send, 200, json.dumps(answer).encode())
            return
        if path == "/detokenize":
            text = "".join(chr(t % 0x110000) for t in body.get("tokens", []))
            await _send(send, 200, json.dumps({"prompt": text}).encode())
            return
        route = path.removeprefix("/v1/")
        model = str(body.get("model", ""))
        self.in_flight += 1
        try:
            if body.get("stream"):
                await self._stream(receive, send, route, model, body)
            else:
                await _send(send, 200, self._answer(route, model))
        finally:
            self.in_flight -= 1

    async def _stream(
        self, receive: Any, send: Any, route: str, model: str, body: dict[str, Any]
    ) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            await self._send_chunks(send, route, model, body, gone)
        finally:
            watcher.cancel()

    async def _send_chunks(
        self, send: Any, route: str, model: str, body: dict[str, Any], gone: asyncio.Event
    ) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for word in (*self.words, None):
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            if gone.is_set():
                self.cancelled += 1
                return
            chunk = self._chunk(route, model, word)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        options = body.get("stream_options") or {}
        tail = self._chunk(route, model, None, usage=True) if options.get("include_usage") else b""
        await send({"type": "http.response.body", "body": tail + b"data: [DONE]\n\n"})


async def _send(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def free_port() -> int:
    """A loopback port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_fake_upstream(
    app: FakeUpstream | None = None, port: int | None = None
) -> Iterator[tuple[str, FakeUpstream]]:
    """Serve a FakeUpstream on loopback in a background thread; yields (base URL, app)."""
    app = app or FakeUpstream()
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="error", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake upstream did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = server.force_exit = True
        thread.join(10)


def main() -> None:
    """Run a fake upstream in the foreground (for benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args()
    uvicorn.run(
        FakeUpstream(chunk_delay=args.chunk_delay),
        host=args.host,
        port=args.port,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        lifespan="off",
        access_log=False,
    )


if __name__ == "__main__":
    main()
