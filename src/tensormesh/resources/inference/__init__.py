"""`client.inference`: the inference APIs (today: `serverless`)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tensormesh._transport import AsyncTransport, SyncTransport

    from .serverless import AsyncServerless, Serverless

__all__ = ["AsyncInference", "Inference"]


class Inference:
    """Inference APIs."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    @cached_property
    def serverless(self) -> Serverless:
        """The serverless, OpenAI-compatible inference API."""
        from .serverless import Serverless

        return Serverless(self._transport)


class AsyncInference:
    """Inference APIs (async)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    @cached_property
    def serverless(self) -> AsyncServerless:
        """The serverless, OpenAI-compatible inference API."""
        from .serverless import AsyncServerless

        return AsyncServerless(self._transport)
