"""The interface every engine implements (embedded llama.cpp, OpenAI-compatible upstreams)."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

Route = Literal["chat/completions", "completions"]
"""The generation routes, as paths under /v1."""


@dataclass(frozen=True)
class ModelInfo:
    """What GET /v1/models says about a model."""

    id: str
    created: int
    owned_by: str
    root: str
    parent: str | None = None
    max_model_len: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The `model` object of GET /v1/models."""
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
            "root": self.root,
            "parent": self.parent,
            "max_model_len": self.max_model_len,
        }


@dataclass(frozen=True)
class Generation:
    """A whole (non-streamed) answer: the raw JSON bytes as the engine sent them."""

    content: bytes


class Engine(abc.ABC):
    """Serves one model id. Requests and answers are OpenAI-shaped JSON."""

    info: ModelInfo

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Load or connect; raise EngineStartError when the engine cannot work at all."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    @abc.abstractmethod
    async def generate(
        self, route: Route, body: dict[str, Any], request_id: str | None
    ) -> Generation:
        """Run a non-streamed request; raise APIError on failure."""

    @abc.abstractmethod
    def stream(
        self, route: Route, body: dict[str, Any], request_id: str | None
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Start a streamed request (APIError on entry if it cannot), yielding raw SSE bytes."""

    @abc.abstractmethod
    async def tokenize(self, body: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        """vLLM /tokenize: `{count, max_model_len, tokens, token_strs?}`."""

    @abc.abstractmethod
    async def detokenize(self, tokens: list[int], request_id: str | None) -> str:
        """vLLM /detokenize: the text of `tokens`."""

    @abc.abstractmethod
    async def health(self) -> str | None:
        """None when the engine can serve, else a short reason."""


class EngineStartError(Exception):
    """An engine could not start; the message is one line for the user."""
