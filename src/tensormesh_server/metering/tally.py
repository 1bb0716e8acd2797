"""What one generation produced, seen from the bytes the gateway relays.

For a stream, the gateway always asks the engine for the final usage chunk; when the client did
not ask for it (`stream_options.include_usage`), that chunk is dropped before it reaches the
client. Content chunks are counted as they pass, so that a stream the client abandons is still
charged for the tokens it generated (one chunk = one token, as llama.cpp and vLLM stream).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

_EVENT = re.compile(rb"(.*?)(?:\r\n\r\n|\n\n|\r\r)", re.DOTALL)
_BOUNDARIES = (b"\n\n", b"\r\n\r\n", b"\r\r")


def _last_boundary(data: bytes) -> int:
    """The index just after the last event boundary in `data` (-1 when there is none)."""
    end = -1
    for boundary in _BOUNDARIES:
        found = data.rfind(boundary)
        if found >= 0:
            end = max(end, found + len(boundary))
    return end


def token_counts(usage: dict[str, Any] | None) -> tuple[int, int, int]:
    """(prompt, completion, cached) tokens of an OpenAI `usage` object (0 where missing)."""
    if not isinstance(usage, dict):
        return 0, 0, 0
    prompt = _count(usage.get("prompt_tokens", usage.get("input_tokens")))
    completion = _count(usage.get("completion_tokens", usage.get("output_tokens")))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return prompt, completion, min(cached, prompt)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _produced(choices: list[Any]) -> bool:
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if isinstance(delta, dict) and any(
            delta.get(name) for name in ("content", "reasoning", "reasoning_content", "tool_calls")
        ):
            return True
        if choice.get("text"):
            return True
    return False


class UsageTally:
    """The usage of one request: the engine's final `usage` when seen, else what was counted."""

    __slots__ = ("_buffer", "_strip", "began", "first_token", "generated", "usage")

    def __init__(self, began: float | None = None) -> None:
        self.began = time.perf_counter() if began is None else began
        self.usage: dict[str, Any] | None = None
        self.generated = 0
        self.first_token: float | None = None
        self._strip = False
        self._buffer = b""

    def ask_for_usage(self, body: dict[str, Any]) -> dict[str, Any]:
        """The stream request to send to the engine: with `include_usage` always on."""
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            return body
        self._strip = True
        extra = options if isinstance(options, dict) else {}
        return {**body, "stream_options": {**extra, "include_usage": True}}

    def seen(self, content: bytes) -> None:
        """Note the usage of a whole (non-streamed) answer."""
        try:
            answer = json.loads(content)
        except ValueError:
            return
        usage = answer.get("usage") if isinstance(answer, dict) else None
        self.usage = usage if isinstance(usage, dict) else None
        self.first_token = time.perf_counter()

    def relay(self, chunk: bytes) -> bytes:
        """Look at the next bytes of a stream; returns the bytes to send on (complete events,
        without the usage chunk the client did not ask for)."""
        data = self._buffer + chunk if self._buffer else chunk
        end = _last_boundary(data)
        if end < 0:
            self._buffer = data
            return b""
        complete, self._buffer = data[:end], data[end:]
        kept: list[bytes] | None = None
        for match in _EVENT.finditer(complete):
            drop = self._inspect(match.group(1))
            if drop and kept is None:
                kept = [complete[: match.start()]]
            elif not drop and kept is not None:
                kept.append(match.group(0))
        return complete if kept is None else b"".join(kept)

    async def watch(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Pass `chunks` on unchanged while counting them (for routes that read usage
        themselves)."""
        async for chunk in chunks:
            self.relay(chunk)
            yield chunk
        self.rest()

    def rest(self) -> bytes:
        """What is left in the buffer when the stream ends (an unterminated last event)."""
        rest, self._buffer = self._buffer, b""
        if rest.strip():
            self._inspect(rest)
        return rest

    def _inspect(self, event: bytes) -> bool:
        """Count the event; True when it is the usage chunk to hide from the client."""
        lines = [line[5:].strip() for line in event.splitlines() if line.startswith(b"data:")]
        payload = b"\n".join(lines)
        if not payload or payload == b"[DONE]":
            return False
        try:
            message = json.loads(payload)
        except ValueError:
            return False
        if not isinstance(message, dict):
            return False
        usage = message.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        choices = message.get("choices")
        if isinstance(choices, list) and _produced(choices):
            self.generated += 1
            if self.first_token is None:
                self.first_token = time.perf_counter()
        return self._strip and isinstance(usage, dict) and choices == []

    def counts(self) -> tuple[int, int, int]:
        """(prompt, completion, cached) tokens: the engine's usage, or the counted chunks."""
        if self.usage is not None:
            return token_counts(self.usage)
        return 0, self.generated, 0

    def ttft_ms(self) -> int | None:
        """Milliseconds from the request to its first generated token (None before one)."""
        if self.first_token is None:
            return None
        return max(0, round((self.first_token - self.began) * 1000))
