"""Resolve the client configuration: argument > environment variable > default, per field."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

from ._exceptions import ConfigurationError

__all__ = ["ClientConfig", "resolve_config"]

DEFAULT_SERVERLESS_BASE_URL = "https://serverless.tensormesh.ai"
DEFAULT_CONTROL_PLANE_BASE_URL = "https://api.tensormesh.ai"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2

ENV_CONTROL_PLANE_TOKEN = "TENSORMESH_CONTROL_PLANE_TOKEN"
ENV_CONTROL_PLANE_BASE_URL = "TENSORMESH_CONTROL_PLANE_BASE_URL"
ENV_INFERENCE_API_KEY = "TENSORMESH_INFERENCE_API_KEY"
ENV_SERVERLESS_BASE_URL = "TENSORMESH_SERVERLESS_BASE_URL"
ENV_TIMEOUT = "TENSORMESH_TIMEOUT_SECONDS"
ENV_MAX_RETRIES = "TENSORMESH_MAX_RETRIES"
ENV_CA_BUNDLE = "TENSORMESH_CA_BUNDLE"
ENV_LOG = "TENSORMESH_LOG"

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class ClientConfig:
    """The resolved configuration of a client (read-only).

    `sources` maps each field name to where its value came from: "argument", "environment"
    or "default". Credentials are left out of `repr()`.
    """

    control_plane_token: str | None = field(repr=False)
    control_plane_base_url: str
    inference_api_key: str | None = field(repr=False)
    serverless_base_url: str
    timeout: float
    max_retries: int
    ca_bundle: str | None
    log_level: str | None
    sources: Mapping[str, str] = field(repr=False, compare=False)


@dataclass(frozen=True)
class _Setting:
    """How one field is named as an argument and as an environment variable."""

    arg: str
    env: str

    def pick(self, value: object, environ: Mapping[str, str]) -> tuple[object, str]:
        """The raw value and its source; empty environment variables count as unset."""
        if value is not None:
            return value, "argument"
        from_env = environ.get(self.env, "").strip()
        if from_env:
            return from_env, "environment"
        return None, "default"

    def name(self, value: object, source: str) -> str:
        """How the user wrote this value, e.g. `timeout=-1` or `TENSORMESH_TIMEOUT_SECONDS='x'`."""
        if source == "environment":
            return f"{self.env}={value!r}"
        return f"{self.arg}={value!r}"

    def fix(self, source: str, example: str) -> str:
        if source == "environment":
            return f"set {self.env}={example} or unset it"
        return f"pass {self.arg}={example}"


_TOKEN = _Setting("control_plane_token", ENV_CONTROL_PLANE_TOKEN)
_CP_URL = _Setting("control_plane_base_url", ENV_CONTROL_PLANE_BASE_URL)
_KEY = _Setting("inference_api_key", ENV_INFERENCE_API_KEY)
_SL_URL = _Setting("serverless_base_url", ENV_SERVERLESS_BASE_URL)
_TIMEOUT = _Setting("timeout", ENV_TIMEOUT)
_RETRIES = _Setting("max_retries", ENV_MAX_RETRIES)
_CA = _Setting("ca_bundle", ENV_CA_BUNDLE)


def _secret(setting: _Setting, value: object, source: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{setting.arg} must be a string, not {type(value).__name__}", setting=setting.arg
        )
    return value.strip() or None


def _base_url(setting: _Setting, value: object, source: str, default: str) -> str:
    if value is None:
        return default
    text = value.strip().rstrip("/") if isinstance(value, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{setting.name(value, source)} is not an http(s) URL; "
            f"{setting.fix(source, repr(default))}",
            setting=setting.arg,
        )
    return text


def _timeout(value: object, source: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    seconds = float("nan")
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            seconds = float(value)
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigurationError(
            f"{_TIMEOUT.name(value, source)} is not a valid timeout: it must be a positive "
            f"number of seconds; {_TIMEOUT.fix(source, '60')}",
            setting=_TIMEOUT.arg,
        )
    return seconds


def _max_retries(value: object, source: str) -> int:
    if value is None:
        return DEFAULT_MAX_RETRIES
    retries: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        retries = value
    elif isinstance(value, str) and value.strip().isdigit():
        retries = int(value.strip())
    if retries is None or retries < 0:
        raise ConfigurationError(
            f"{_RETRIES.name(value, source)} is not a valid retry count: it must be a whole "
            f"number >= 0; {_RETRIES.fix(source, '2')}",
            setting=_RETRIES.arg,
        )
    return retries


def _ca_bundle(value: object, source: str) -> str | None:
    if value is None:
        return None
    path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(path, str) or not os.path.exists(path):
        raise ConfigurationError(
            f"{_CA.name(value, source)}: no such file. Point it at a PEM file of CA "
            f"certificates, or leave it unset to use the system's certificates",
            setting=_CA.arg,
        )
    return path


def _log_level(environ: Mapping[str, str]) -> str | None:
    value = environ.get(ENV_LOG, "").strip().lower()
    if not value:
        return None
    if value not in LOG_LEVELS:
        raise ConfigurationError(
            f"{ENV_LOG}={value!r} is not a log level; set it to one of {', '.join(LOG_LEVELS)}",
            setting=ENV_LOG,
        )
    return value


def resolve_config(
    *,
    control_plane_token: str | None = None,
    control_plane_base_url: str | None = None,
    inference_api_key: str | None = None,
    serverless_base_url: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Resolve every field (argument > environment > default); raise ConfigurationError."""
    environ: Mapping[str, str] = os.environ if env is None else env
    sources: dict[str, str] = {}

    def pick(name: str, setting: _Setting, value: object) -> tuple[object, str]:
        raw, source = setting.pick(value, environ)
        sources[name] = source
        return raw, source

    token, token_src = pick("control_plane_token", _TOKEN, control_plane_token)
    cp_url, cp_src = pick("control_plane_base_url", _CP_URL, control_plane_base_url)
    key, key_src = pick("inference_api_key", _KEY, inference_api_key)
    sl_url, sl_src = pick("serverless_base_url", _SL_URL, serverless_base_url)
    raw_timeout, timeout_src = pick("timeout", _TIMEOUT, timeout)
    raw_retries, retries_src = pick("max_retries", _RETRIES, max_retries)
    raw_ca, ca_src = pick("ca_bundle", _CA, ca_bundle)
    return ClientConfig(
        control_plane_token=_secret(_TOKEN, token, token_src),
        control_plane_base_url=_base_url(_CP_URL, cp_url, cp_src, DEFAULT_CONTROL_PLANE_BASE_URL),
        inference_api_key=_secret(_KEY, key, key_src),
        serverless_base_url=_base_url(_SL_URL, sl_url, sl_src, DEFAULT_SERVERLESS_BASE_URL),
        timeout=_timeout(raw_timeout, timeout_src),
        max_retries=_max_retries(raw_retries, retries_src),
        ca_bundle=_ca_bundle(raw_ca, ca_src),
        log_level=_log_level(environ),
        sources=MappingProxyType(sources),
    )
