"""A fast fake OpenAI-compatible upstream for tests and benchmarks.

`FakeUpstream` is a raw ASGI app answering chat completions, completions (streamed or not),
tokenize, detokenize, models and health with canned content, and counting what it saw.
`running_fake_upstream()` serves it with uvicorn in a background thread; run
`python -m tensormesh_server.testing.fake_upstream --port N` for a separate process
(`fake_upstream_process()` starts one and waits until it answers). Faults to inject: an error
`status`, a `first_byte_delay` before the answer starts, a stream that stalls after
`stall_after` chunks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

import httpx2
import uvicorn

Scope = MutableMapping[str, Any]


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


DEFAULT_WORDS = ("Hello", " from", " the", " fake", " upstream.")


def numbered_words(count: int) -> tuple[str, ...]:
    """`count` distinct generated tokens: " w0", " w1", ..."""
    return tuple(f" w{n}" for n in range(count))


class FakeUpstream:
    """Canned OpenAI-compatible answers; `words` are the generated tokens.

    Faults: every generation request answers `status` when it is not 200; answers start after
    `first_byte_delay` seconds; streams send a chunk every `chunk_delay` seconds and, with
    `stall_after`, stop sending after that many chunks (until the client goes away).
    `cancelled` counts the streams (and delayed answers) the client abandoned, `disconnects`
    holds when (time.monotonic()) each one noticed it.
    """

    def __init__(
        self,
        name: str = "fake",
        words: tuple[str, ...] = DEFAULT_WORDS,
        chunk_delay: float = 0.0,
        status: int = 200,
        first_byte_delay: float = 0.0,
        stall_after: int | None = None,
    ) -> None:
        self.name = name
        self.words = words
        self.chunk_delay = chunk_delay
        self.status = status
        self.first_byte_delay = first_byte_delay
        self.stall_after = stall_after
        self.requests = 0
        self.in_flight = 0
        self.cancelled = 0
        self.disconnects: list[float] = []
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
            if body.get("stream") or self.first_byte_delay:
                await self._watched(receive, send, route, model, body)
            else:
                await _send(send, 200, self._answer(route, model))
        finally:
            self.in_flight -= 1

    async def _watched(
        self, receive: Any, send: Any, route: str, model: str, body: dict[str, Any]
    ) -> None:
        """Answer while watching for the client to go away (noted at once, not at a send)."""
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            self.disconnects.append(time.monotonic())
            self.cancelled += 1
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            if await _gone_within(gone, self.first_byte_delay):
                return
            if body.get("stream"):
                await self._send_chunks(send, route, model, body, gone)
            else:
                await _send(send, 200, self._answer(route, model))
        finally:
            watcher.cancel()

    async def _send_chunks(
        self, send: Any, route: str, model: str, body: dict[str, Any], gone: asyncio.Event
    ) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for sent, word in enumerate((*self.words, None)):
            if sent == self.stall_after:
                await gone.wait()
            if await _gone_within(gone, self.chunk_delay):
                return
            chunk = self._chunk(route, model, word)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        options = body.get("stream_options") or {}
        tail = self._chunk(route, model, None, usage=True) if options.get("include_usage") else b""
        await send({"type": "http.response.body", "body": tail + b"data: [DONE]\n\n"})


async def _gone_within(gone: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` (or not at all); True as soon as the client is gone."""
    if seconds > 0 and not gone.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(gone.wait(), seconds)
    return gone.is_set()


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


@contextlib.contextmanager
def fake_upstream_process(
    args: Sequence[str] = (), port: int | None = None, ready_timeout: float = 20.0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run `python -m tensormesh_server.testing.fake_upstream --port PORT *args` until the block
    ends (SIGKILL it to simulate a crash); yields (base URL, process) once it answers."""
    port = port or free_port()
    command = [sys.executable, "-m", __name__, "--port", str(port), *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(url + "/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the fake upstream {' '.join(args)} did not start")
            time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(10)


def from_command_line(argv: Sequence[str] | None = None) -> tuple[FakeUpstream, str, int]:
    """The fake upstream, host and port that `argv` (the command line's flags) describe."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--name", default="fake", help="named in the answers' ids (cmpl-NAME)")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument(
        "--words", type=int, default=None, help="generate this many tokens (default 5)"
    )
    parser.add_argument(
        "--status", type=int, default=200, help="answer generation requests with this status"
    )
    parser.add_argument(
        "--first-byte-delay", type=float, default=0.0, help="seconds before an answer starts"
    )
    parser.add_argument(
        "--stall-after", type=int, default=None, help="streams stop after this many chunks"
    )
    args = parser.parse_args(argv)
    fake = FakeUpstream(
        name=args.name,
        words=DEFAULT_WORDS if args.words is None else numbered_words(args.words),
        chunk_delay=args.chunk_delay,
        status=args.status,
        first_byte_delay=args.first_byte_delay,
        stall_after=args.stall_after,
    )
    return fake, args.host, args.port


def main() -> None:
    """Run a fake upstream in the foreground (for benchmarks and fault tests)."""
    fake, host, port = from_command_line()
    uvicorn.run(
        fake,
        host=host,
        port=port,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        lifespan="off",
        access_log=False,
    )


if __name__ == "__main__":
    main()
