"""Endpoint declarations: each route is described once (method, path, surface, types)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._retry import RETRYABLE_METHODS

__all__ = ["Endpoint", "StreamKind"]

ResponseT = TypeVar("ResponseT")
EventT = TypeVar("EventT")

SERVERLESS = "serverless"
CONTROL_PLANE = "control_plane"


@dataclass(frozen=True)
class StreamKind(Generic[EventT]):
    """How the events of one kind of stream are read.

    parse: (data, SSE event name) -> typed event; text: the event's text delta (first choice);
    reasoning: its explicit reasoning delta; usage: the usage it reports.
    """

    parse: Callable[[str, str], EventT]
    text: Callable[[EventT], str | None]
    reasoning: Callable[[EventT], str | None]
    usage: Callable[[EventT], Any]


@dataclass(frozen=True)
class Endpoint(Generic[ResponseT, EventT]):
    """One API route. `response_type` None means "decoded JSON as is"."""

    method: str
    path: str
    response_type: type[ResponseT] | None
    surface: str = SERVERLESS
    stream_kind: StreamKind[EventT] | None = None
    needs_auth: bool = True

    @property
    def idempotent(self) -> bool:
        """Whether the method may be retried automatically (API.md §3)."""
        return self.method in RETRYABLE_METHODS

    def format_path(self, **path_args: str) -> str:
        """The path with `{name}` placeholders filled in (URL-quoted)."""
        if not path_args:
            return self.path
        from urllib.parse import quote

        return self.path.format(**{k: quote(str(v), safe="") for k, v in path_args.items()})
