"""Turn a call (endpoint, parameters, per-call options) into an httpx2 request."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from ._exceptions import MissingCredentialError, TensormeshError
from ._types import NotGiven
from ._version import __version__

__all__ = ["PreparedRequest", "Surface", "build_request", "split_options", "to_jsonable"]

USER_AGENT = f"tensormesh-python/{__version__}"
OPTION_KEYS = ("extra_headers", "extra_body", "timeout")


@dataclass(frozen=True)
class Surface:
    """One API host: its base URL, the credential it takes, and what to say when it is missing."""

    name: str
    base_url: str
    credential: str | None
    missing_credential: str

    def authorization(self, required: bool) -> str | None:
        if self.credential:
            return f"Bearer {self.credential}"
        if required:
            raise MissingCredentialError(self.missing_credential, setting=self.name)
        return None


@dataclass(frozen=True)
class PreparedRequest:
    """A ready-to-send request and what the transport needs to know about it."""

    request: httpx2.Request
    method: str
    path: str
    request_id: str
    stream: bool

    def describe(self) -> str:
        return f"{self.method} {self.request.url}"


_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_jsonable(value: Any) -> Any:
    """Models (anything with `model_dump`) and containers as plain JSON data; NOT_GIVEN dropped."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {k: to_jsonable(v) for k, v in value.items() if not isinstance(v, NotGiven)}
    if kind is list or kind is tuple:
        return [to_jsonable(item) for item in value]
    if isinstance(value, (str, int, float)):  # subclasses, e.g. enums
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items() if not isinstance(v, NotGiven)}
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json", exclude_unset=True, by_alias=True)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return [to_jsonable(item) for item in value]
    return value


def split_options(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(body fields, per-call options) of a create(**params) call; NOT_GIVEN values dropped."""
    body: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, NotGiven):
            continue
        (options if key in OPTION_KEYS else body)[key] = value
    return body, options


def _timeout(seconds: float | None, default: float) -> dict[str, float | None]:
    if seconds is None or isinstance(seconds, NotGiven):
        seconds = default
    elif isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise TensormeshError(f"timeout={seconds!r} is not valid: use a positive number of seconds")
    return dict(_timeout_dict(float(seconds)))


@functools.lru_cache(maxsize=32)
def _timeout_dict(seconds: float) -> tuple[tuple[str, float | None], ...]:
    return tuple(httpx2.Timeout(seconds).as_dict().items())


@functools.lru_cache(maxsize=256)
def _url(base_url: str, path: str) -> httpx2.URL:
    """The parsed URL of `path` under `base_url` (parsed once per pair; URLs are immutable)."""
    return httpx2.URL(base_url + path)


def new_request_id() -> str:
    return os.urandom(12).hex()


def build_request(
    surface: Surface,
    method: str,
    path: str,
    *,
    body: Mapping[str, Any] | None = None,
    json_data: Any = None,
    params: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    extra_body: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    default_timeout: float,
    needs_auth: bool,
    stream: bool = False,
) -> PreparedRequest:
    """Build the request: URL, headers (auth, user agent, x-request-id), JSON body, timeout."""
    headers = {
        "user-agent": USER_AGENT,
        "accept": "text/event-stream" if stream else "application/json",
    }
    authorization = surface.authorization(needs_auth)
    if authorization:
        headers["authorization"] = authorization
    if body is not None or extra_body:
        payload = {**to_jsonable(dict(body or {})), **to_jsonable(dict(extra_body or {}))}
    else:
        payload = to_jsonable(json_data)
    content: bytes | None = None
    if payload is not None:
        headers["content-type"] = "application/json"
        try:
            content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise TensormeshError(f"the request body cannot be sent as JSON: {exc}") from exc
    if extra_headers:
        headers.update({k.lower(): v for k, v in extra_headers.items()})
    request_id = headers.setdefault("x-request-id", new_request_id())
    query = None
    if params:
        query = {k: v for k, v in to_jsonable(params).items() if v is not None}
    try:
        request = httpx2.Request(
            method,
            _url(surface.base_url, path),
            params=query,
            headers=headers,
            content=content,
            extensions={"timeout": _timeout(timeout, default_timeout)},
        )
    except (httpx2.InvalidURL, TypeError, ValueError) as exc:
        raise TensormeshError(f"cannot build the request {method} {path}: {exc}") from exc
    return PreparedRequest(request, method, path, request_id, stream)
