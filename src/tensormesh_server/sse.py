"""Server-sent events: framing what we emit, and reading what OpenAI-compatible engines send."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from .errors import APIError

DONE = b"data: [DONE]\n\n"


def encode(data: dict[str, Any], event: str | None = None) -> bytes:
    """One SSE event: optional `event:` line, one `data:` line of compact JSON, blank line."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def error_event(error: APIError) -> bytes:
    """An error that happens after the 200 status was sent (API.md: a data event with `error`)."""
    return encode(error.body())


async def data_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The `data` of each event in a byte stream (WHATWG line rules, multi-line data joined)."""
    buffer = b""
    data: list[str] = []
    async for chunk in chunks:
        buffer += chunk
        lines = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        buffer = lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", errors="replace")
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
            elif line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
    if buffer.startswith(b"data:"):
        value = buffer[5:].decode("utf-8", errors="replace")
        data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
