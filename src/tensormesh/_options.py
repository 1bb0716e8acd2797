"""The per-call options every API method accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import TypedDict

__all__ = ["RequestOptions"]


class RequestOptions(TypedDict, total=False):
    """Per-call options accepted by every API method.

    - extra_headers: more HTTP headers (e.g. your own `x-request-id`).
    - extra_body: more JSON fields merged into the request body (sent as given).
    - timeout: seconds for this call; `None` uses the client's timeout.
    """

    extra_headers: Mapping[str, str] | None
    extra_body: Mapping[str, Any] | None
    timeout: float | None
