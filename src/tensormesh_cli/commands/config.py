"""`tm config`: create, show and change config.toml."""

from __future__ import annotations

from typing import Any

import click

from tensormesh_cli.auth_store import AuthStore, auth_path
from tensormesh_cli.config_file import ConfigFile, write_config
from tensormesh_cli.errors import CliError, InputError
from tensormesh_cli.render import View, emit
from tensormesh_cli.settings import SETTINGS, SETTINGS_BY_KEY, Settings, mask_secret
from tensormesh_cli.state import get_state

LOCAL_SERVERLESS_BASE = "http://127.0.0.1:8471"
LOCAL_CONTROLPLANE_BASE = "http://127.0.0.1:8470"
CONFIG_HEADER = (
    "# Tensormesh CLI configuration (`tm config show --sources` explains every value).\n"
    "# Precedence per setting: command-line flag > environment variable > this file > default.\n\n"
)
SETTABLE_KEYS = tuple(spec.key for spec in SETTINGS if spec.in_config)


@click.group()
def config() -> None:
    """Create, show and change config.toml."""


@config.command("init")
@click.option("--serverless-base", help="Serverless inference API base URL.")
@click.option("--controlplane-base", help="Control plane API base URL.")
@click.option("--gateway-api-key", help="Inference API key (stored under [overrides]).")
@click.option(
    "--local",
    is_flag=True,
    help=f"Point at a local `tm server up` ({LOCAL_SERVERLESS_BASE}, {LOCAL_CONTROLPLANE_BASE}).",
)
@click.option("--force", is_flag=True, help="Replace an existing config.toml.")
def init(
    serverless_base: str | None,
    controlplane_base: str | None,
    gateway_api_key: str | None,
    local: bool,
    force: bool,
) -> None:
    """Write a starter config.toml."""
    state = get_state()
    path = state.config_path
    if path.exists() and not force:
        raise CliError(f"{path} already exists (use --force to replace it)")
    data = starter_config(
        serverless_base=serverless_base or (LOCAL_SERVERLESS_BASE if local else None),
        controlplane_base=controlplane_base or (LOCAL_CONTROLPLANE_BASE if local else None),
        gateway_api_key=gateway_api_key,
    )
    write_config(path, data, header=CONFIG_HEADER)
    state.say(f"Wrote {path}")


def starter_config(
    *, serverless_base: str | None, controlplane_base: str | None, gateway_api_key: str | None
) -> dict[str, Any]:
    """The content of a new config.toml: every top-level setting spelled out, defaults filled in."""
    data: dict[str, Any] = {}
    for spec in SETTINGS:
        if spec.in_config and spec.default is not None:
            data[spec.key] = spec.default
    bases = {"serverless_base": serverless_base, "controlplane_base": controlplane_base}
    for key, value in bases.items():
        if value is not None:
            data[key] = _checked(key, value)
    if gateway_api_key is not None:
        data["overrides"] = {"gateway_api_key": _checked("gateway_api_key", gateway_api_key)}
    return data


def _checked(key: str, value: Any) -> Any:
    try:
        return SETTINGS_BY_KEY[key].parse(value)
    except ValueError as exc:
        raise InputError(f"invalid {key}: {exc}") from None


@config.command("show")
@click.option("--sources", is_flag=True, help="Also show where each value came from.")
def show(sources: bool) -> None:
    """Show the resolved settings (secrets masked)."""
    state = get_state()
    store = AuthStore(auth_path(state.environ))
    emit(settings_view(state.settings, sources=sources, auth=store), state.output)


def settings_view(settings: Settings, *, sources: bool, auth: AuthStore | None = None) -> View:
    """The resolved settings; the control-plane token falls back to `auth`'s saved login."""
    rows: list[dict[str, Any]] = []
    for spec in SETTINGS:
        resolved = settings.sources[spec.key]
        row = {"key": spec.key, "value": resolved.value}
        row |= {"source": resolved.source, "origin": resolved.origin}
        if spec.key == "control_plane_token" and resolved.value is None and auth is not None:
            row |= _saved_login(auth, settings.controlplane_base)
        if spec.secret and isinstance(row["value"], str):
            row["value"] = mask_secret(row["value"])
        rows.append(row)
    if sources:
        data: dict[str, Any] = {
            row["key"]: {name: row[name] for name in ("value", "source", "origin")} for row in rows
        }
        columns = ["key", "value", "source", "origin"]
        lines = [f"{row['key']} = {_shown(row['value'])}  ({_origin(row)})" for row in rows]
    else:
        data = {row["key"]: row["value"] for row in rows}
        columns = ["key", "value"]
        lines = [f"{row['key']} = {_shown(row['value'])}" for row in rows]
    lines.insert(0, f"# config file: {settings.config_path}")
    return View(
        data={"config_file": str(settings.config_path), "settings": data},
        text="\n".join(lines),
        rows=rows,
        columns=columns,
    )


def _saved_login(auth: AuthStore, controlplane_base: str) -> dict[str, Any]:
    """The token `tm auth login` saved for this control plane, as a row's value and source."""
    try:
        login = auth.get(controlplane_base)
    except CliError:
        return {"source": "auth", "origin": f"{auth.path} (unreadable)"}
    if login is None:
        return {}
    return {"value": login.access_token, "source": "auth", "origin": str(auth.path)}


def _shown(value: Any) -> str:
    return "(not set)" if value is None else str(value)


def _origin(row: dict[str, Any]) -> str:
    if row["source"] == "default":
        return "default"
    return f"{row['source']}: {row['origin']}"


@config.command("set")
@click.argument("key", type=click.Choice(SETTABLE_KEYS))
@click.argument("value")
def set_(key: str, value: str) -> None:
    """Set KEY to VALUE in config.toml (the API key goes under [overrides])."""
    state = get_state()
    current = state.config_file
    data = _editable(current)
    parsed = _checked(key, value)
    if key == "gateway_api_key":
        data.setdefault("overrides", {})["gateway_api_key"] = parsed
    else:
        data[key] = parsed
    write_config(current.path, data, header="" if current.exists else CONFIG_HEADER)
    state.say(f"Set {key} in {current.path}")


@config.command("unset")
@click.argument("key", type=click.Choice(SETTABLE_KEYS))
def unset(key: str) -> None:
    """Remove KEY from config.toml."""
    state = get_state()
    current = state.config_file
    data = _editable(current)
    table = data.get("overrides", {}) if key == "gateway_api_key" else data
    if key not in table:
        state.say(f"{key} is not set in {current.path}")
        return
    del table[key]
    write_config(current.path, data)
    state.say(f"Removed {key} from {current.path}")


@config.command("path")
def path() -> None:
    """Print where config.toml is (whether or not it exists)."""
    click.echo(str(get_state().config_path))


def _editable(current: ConfigFile) -> dict[str, Any]:
    """A mutable deep-enough copy of the file's data (top level and the key tables)."""
    return {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in current.data.items()
    }
