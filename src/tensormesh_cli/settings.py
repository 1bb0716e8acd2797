"""Resolve every setting per field: flag > environment > config.toml > built-in default.

Each resolved value remembers where it came from, for `tm config show --sources` and for error
messages that tell the user which credential or setting to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tensormesh_cli.config_file import ConfigFile
from tensormesh_cli.errors import CliError

DEFAULT_SERVERLESS_BASE = "https://serverless.tensormesh.ai"
DEFAULT_CONTROLPLANE_BASE = "https://api.tensormesh.ai"
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RETRIES = 2


def parse_url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value.rstrip("/")


def parse_timeout(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number of seconds")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError("expected a number of seconds") from None
    if not seconds > 0:
        raise ValueError("expected a positive number of seconds")
    return seconds


def parse_retries(value: Any) -> int:
    if isinstance(value, (bool, float)):
        raise ValueError("expected a whole number (0 or more)")
    try:
        retries = int(value)
    except (TypeError, ValueError):
        raise ValueError("expected a whole number (0 or more)") from None
    if retries < 0:
        raise ValueError("expected a whole number (0 or more)")
    return retries


def parse_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its config.toml key, environment variable, global flag and parser."""

    key: str
    env: str | None
    flag: str | None
    parse: Callable[[Any], Any]
    default: Any = None
    secret: bool = False
    in_config: bool = True


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "serverless_base",
        "TENSORMESH_SERVERLESS_BASE_URL",
        "--serverless-base",
        parse_url,
        DEFAULT_SERVERLESS_BASE,
    ),
    SettingSpec(
        "controlplane_base",
        "TENSORMESH_CONTROL_PLANE_BASE_URL",
        "--controlplane-base",
        parse_url,
        DEFAULT_CONTROLPLANE_BASE,
    ),
    SettingSpec(
        "timeout_seconds",
        "TENSORMESH_TIMEOUT_SECONDS",
        "--timeout",
        parse_timeout,
        DEFAULT_TIMEOUT_SECONDS,
    ),
    SettingSpec(
        "max_retries", "TENSORMESH_MAX_RETRIES", "--max-retries", parse_retries, DEFAULT_MAX_RETRIES
    ),
    SettingSpec("ca_bundle", "TENSORMESH_CA_BUNDLE", "--ca-bundle", parse_text),
    SettingSpec("gateway_api_key", "TENSORMESH_INFERENCE_API_KEY", None, parse_text, secret=True),
    SettingSpec(
        "control_plane_token",
        "TENSORMESH_CONTROL_PLANE_TOKEN",
        None,
        parse_text,
        secret=True,
        in_config=False,  # else auth.json (`tm auth login`): control_plane_session.py
    ),
)
SETTINGS_BY_KEY = {spec.key: spec for spec in SETTINGS}


@dataclass(frozen=True)
class Resolved:
    """A resolved value and its origin: source is flag, env, config or default."""

    value: Any
    source: str
    origin: str


@dataclass(frozen=True)
class Settings:
    """Every resolved setting of one `tm` invocation."""

    serverless_base: str
    controlplane_base: str
    timeout_seconds: float
    max_retries: int
    ca_bundle: str | None
    gateway_api_key: str | None
    control_plane_token: str | None
    config_path: Path
    sources: Mapping[str, Resolved]


def _find(
    spec: SettingSpec, flags: Mapping[str, Any], environ: Mapping[str, str], config: ConfigFile
) -> tuple[Any, str, str] | None:
    """The first (raw value, source, origin) that sets `spec`, in precedence order."""
    if spec.flag is not None and flags.get(spec.key) is not None:
        return flags[spec.key], "flag", spec.flag
    if spec.env is not None and environ.get(spec.env, "").strip():
        return environ[spec.env], "env", spec.env
    if spec.in_config and (found := config.lookup(spec.key)) is not None:
        return found[0], "config", found[1]
    return None


def _resolve_one(
    spec: SettingSpec, flags: Mapping[str, Any], environ: Mapping[str, str], config: ConfigFile
) -> Resolved:
    found = _find(spec, flags, environ, config)
    if found is None:
        return Resolved(spec.default, "default", "built-in")
    raw, source, origin = found
    try:
        return Resolved(spec.parse(raw), source, origin)
    except ValueError as exc:
        shown = "<hidden>" if spec.secret else repr(raw)
        raise CliError(f"invalid {spec.key} {shown} from {origin}: {exc}") from None


def resolve_settings(
    flags: Mapping[str, Any], environ: Mapping[str, str], config: ConfigFile
) -> Settings:
    """Resolve every setting; a bad value raises a CliError that names where it came from."""
    sources = {spec.key: _resolve_one(spec, flags, environ, config) for spec in SETTINGS}
    return Settings(
        **{key: resolved.value for key, resolved in sources.items()},
        config_path=config.path,
        sources=sources,
    )


def mask_secret(value: str) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    if len(value) < 12:
        return "****"
    return f"{value[:4]}…{value[-4:]}"
