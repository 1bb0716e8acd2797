"""A prepared call of an endpoint, and how its response becomes a typed result (no I/O)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import httpx2

from ._endpoints import Endpoint
from ._exceptions import ProtocolError
from ._request import PreparedRequest
from ._streaming import StreamState

__all__ = ["Call", "decode_json"]

ResponseT = TypeVar("ResponseT")
EventT = TypeVar("EventT")


def decode_json(prepared: PreparedRequest, response: httpx2.Response) -> Any:
    """The JSON body of a read response (None when empty); ProtocolError if it is not JSON."""
    content = response.content
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError as exc:
        raise ProtocolError(
            f"the {response.status_code} response to {prepared.describe()} is not valid JSON "
            f"({exc})",
            request_id=_request_id(prepared, response),
        ) from None


def _request_id(prepared: PreparedRequest, response: httpx2.Response) -> str:
    return response.headers.get("x-request-id") or prepared.request_id


@dataclass(frozen=True)
class Call(Generic[ResponseT, EventT]):
    """An endpoint with its prepared request."""

    endpoint: Endpoint[ResponseT, EventT]
    prepared: PreparedRequest

    @property
    def stream(self) -> bool:
        return self.prepared.stream

    def parse(self, response: httpx2.Response) -> ResponseT:
        """The typed body of a read, successful response; ProtocolError if it does not fit."""
        response_type = self.endpoint.response_type
        if response_type is None:
            return cast(ResponseT, decode_json(self.prepared, response))
        data = decode_json(self.prepared, response)
        try:
            return cast(ResponseT, response_type.model_validate(data))  # type: ignore[attr-defined]
        except ValueError as exc:
            raise ProtocolError(
                f"the {response.status_code} response to {self.prepared.describe()} does not "
                f"have the expected shape: {str(exc).splitlines()[0]}",
                request_id=_request_id(self.prepared, response),
            ) from None

    def stream_state(self, response: httpx2.Response) -> StreamState[EventT]:
        kind = self.endpoint.stream_kind
        if kind is None:
            raise TypeError(f"{self.endpoint.path} does not stream")
        return StreamState(kind, self.prepared, _request_id(self.prepared, response))
