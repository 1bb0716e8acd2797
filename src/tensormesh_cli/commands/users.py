"""`tm users`: your profile, the terms of service, and inference API keys."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

import click

from tensormesh_cli.commands.auth import timestamp_text, user_summary
from tensormesh_cli.config_file import load_config, write_config
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.errors import CliError, InputError
from tensormesh_cli.render import View, emit, format_columns, format_text
from tensormesh_cli.settings import mask_secret
from tensormesh_cli.state import CliState, get_state

if TYPE_CHECKING:
    from tensormesh.resources.control_plane import ControlPlane
    from tensormesh.types.control_plane import ApiKey, User, UserUpdateParams

KEY_COLUMNS = ("id", "name", "prefix", "scopes", "created", "expires", "last_used", "deleted")
USER_ID_HELP = "Act on another user's behalf (admins only)."


@click.group()
def users() -> None:
    """Your control-plane user: profile, terms of service, API keys."""


def _show_user(state: CliState, user: User) -> None:
    emit(View(data=user, text=format_text(user_summary(user))), state.output)


@users.command()
@click.option("--user-id", help=USER_ID_HELP)
@click.option("--first-name")
@click.option("--last-name")
@click.option("--display-name")
@click.option("--company")
def update(
    user_id: str | None,
    first_name: str | None,
    last_name: str | None,
    display_name: str | None,
    company: str | None,
) -> None:
    """Change your names or company (only the options given change)."""
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "display_name": display_name,
        "company": company,
    }
    changes = cast(
        "UserUpdateParams", {key: value for key, value in fields.items() if value is not None}
    )
    if not changes:
        raise InputError(
            "nothing to change: give --first-name, --last-name, --display-name or --company"
        )
    state = get_state()
    session = ControlPlaneSession.for_state(state)

    def apply(cp: ControlPlane) -> User:
        target = user_id or cp.users.get_auth_profile().user.id
        cp.users.update(target, **changes)
        return cp.users.get(target).user

    user = session.call(apply)
    state.say(f"Updated {user.user_email or user.id}.")
    _show_user(state, user)


@users.command("accept-tos")
def accept_tos() -> None:
    """Accept the terms of service."""
    state = get_state()
    user = ControlPlaneSession.for_state(state).call(lambda cp: cp.users.accept_tos()).user
    state.say("Accepted the terms of service.")
    _show_user(state, user)


@users.group("api-keys")
def api_keys() -> None:
    """Inference API keys (they open the serverless API)."""


def key_row(key: ApiKey) -> dict[str, Any]:
    """One key as a table row (never its secret)."""
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": ",".join(key.scopes) or None,
        "created": timestamp_text(key.created_at),
        "expires": timestamp_text(key.expires_at),
        "last_used": timestamp_text(key.last_used_at),
        "deleted": timestamp_text(key.deleted_at),
    }


@api_keys.command("list")
@click.option("--user-id", help=USER_ID_HELP)
@click.option("--include-deleted", is_flag=True, help="Also list deleted keys.")
def list_(user_id: str | None, include_deleted: bool) -> None:
    """List the API keys (id, name, prefix, scopes, dates; never the secrets)."""
    state = get_state()
    result = ControlPlaneSession.for_state(state).call(
        lambda cp: cp.users.api_keys.list(user_id=user_id, include_deleted=include_deleted or None)
    )
    rows = [key_row(key) for key in result.api_keys]
    text = format_columns(rows, KEY_COLUMNS) if rows else "(no API keys)"
    emit(View(data=result.api_keys, text=text, rows=rows, columns=KEY_COLUMNS), state.output)


@api_keys.command()
@click.option("--name", help="A name to recognise the key by.")
@click.option("--scope", "scopes", multiple=True, help="A scope of the key (repeatable).")
@click.option(
    "--expires-in", type=click.IntRange(min=1), metavar="DAYS", help="Expire after N days."
)
@click.option("--expires-at", metavar="TIME", help="Expire at this RFC 3339 time.")
@click.option("--rpm", type=click.IntRange(min=1), help="Rate limit: requests per minute.")
@click.option("--tpm", type=click.IntRange(min=1), help="Rate limit: tokens per minute.")
@click.option("--user-id", help=USER_ID_HELP)
@click.option(
    "--save",
    is_flag=True,
    help="Also store the key in config.toml as [overrides].gateway_api_key.",
)
def create(
    name: str | None,
    scopes: tuple[str, ...],
    expires_in: int | None,
    expires_at: str | None,
    rpm: int | None,
    tpm: int | None,
    user_id: str | None,
    save: bool,
) -> None:
    """Create an API key and print it (the only time the secret is shown)."""
    state = get_state()
    params: dict[str, Any] = {
        "name": name,
        "user_id": user_id,
        "expires_at": _expiry(expires_in, expires_at),
        "requests_per_minute": rpm,
        "tokens_per_minute": tpm,
    }
    if scopes:
        params["scopes"] = list(scopes)
    params = {key: value for key, value in params.items() if value is not None}
    key = (
        ControlPlaneSession.for_state(state)
        .call(lambda cp: cp.users.api_keys.create(**params))
        .api_key
    )
    if not key.key:
        raise CliError(f"the control plane created key {key.id} but sent no secret")
    state.say(
        f"Created API key {key.id}{f' ({key.name})' if key.name else ''}. "
        "This is the only time it is shown: store it now."
    )
    if save:
        _save_gateway_key(state, key.key)
    emit(View(data=key, text=key.key), state.output)


def _expiry(expires_in: int | None, expires_at: str | None) -> str | None:
    if expires_in is not None and expires_at is not None:
        raise InputError("give --expires-in or --expires-at, not both")
    if expires_in is not None:
        moment = datetime.now(timezone.utc) + timedelta(days=expires_in)
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    if expires_at is not None:
        try:
            moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"--expires-at {expires_at!r} is not an RFC 3339 time (e.g. 2027-01-31T00:00:00Z)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.isoformat()
    return None


def _save_gateway_key(state: CliState, secret: str) -> None:
    """Write `secret` into config.toml as [overrides].gateway_api_key (atomically, 0600)."""
    current = load_config(state.config_path)
    data: dict[str, Any] = {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in current.data.items()
    }
    data.setdefault("overrides", {})["gateway_api_key"] = secret
    write_config(current.path, data)
    state.say(f"Saved it as gateway_api_key under [overrides] in {current.path}.")
    if state.environ.get("TENSORMESH_INFERENCE_API_KEY", "").strip():
        state.say("Note: TENSORMESH_INFERENCE_API_KEY is set and takes precedence over it.")


@api_keys.command()
@click.argument("api_key", metavar="KEY_OR_ID")
@click.option("--user-id", help=USER_ID_HELP)
def delete(api_key: str, user_id: str | None) -> None:
    """Delete (revoke) an API key, named by its id or by the key itself."""
    state = get_state()
    ControlPlaneSession.for_state(state).call(
        lambda cp: cp.users.api_keys.delete(api_key=api_key, user_id=user_id)
    )
    shown = mask_secret(api_key) if api_key.startswith("tm_sk_") else api_key
    state.say(f"Deleted API key {shown}.")
    if state.output != "text":
        emit(View(data={"deleted": shown}), state.output)
