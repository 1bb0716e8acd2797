"""`tm server up`: run the local Tensormesh platform server (imported lazily by `tm`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tensormesh_server.store.database import Database

_ROLES = ("all", "gateway", "controlplane")


@click.group("server")
def server() -> None:
    """Run the local Tensormesh platform server and manage its users and keys."""


@server.command("up")
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option(
    "--serverless-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serverless inference port (env TENSORMESH_SERVERLESS_PORT, default 8471).",
)
@click.option(
    "--controlplane-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Control plane port (env TENSORMESH_CONTROLPLANE_PORT, default 8470).",
)
@click.option(
    "--role", type=click.Choice(_ROLES), default=None, help="Which surface to run (default all)."
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help="Static inference API key to accept besides the database keys; repeatable "
    "(env TENSORMESH_SERVER_API_KEYS, comma list).",
)
@click.option(
    "--embedded-model",
    default=None,
    help="GGUF file for the embedded engine (env TENSORMESH_EMBEDDED_MODEL).",
)
@click.option("--no-embedded", is_flag=True, help="Do not load the embedded model.")
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    metavar="ID=URL[,URL...]",
    help="Serve model ID from OpenAI-compatible replica URLs; repeatable.",
)
@click.option(
    "--models-file",
    default=None,
    help="TOML file with [[models]] entries (env TENSORMESH_SERVER_MODELS_FILE).",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0),
    default=None,
    help="Seconds in-flight requests get on SIGTERM (env TENSORMESH_SERVER_SHUTDOWN_SECONDS, 10).",
)
def up(
    host: str | None,
    serverless_port: int | None,
    controlplane_port: int | None,
    role: str | None,
    api_keys: tuple[str, ...],
    embedded_model: str | None,
    no_embedded: bool,
    upstreams: tuple[str, ...],
    models_file: str | None,
    shutdown_timeout: float | None,
) -> None:
    """Start the server; SIGTERM or Ctrl-C stops it gracefully.

    The database (TENSORMESH_DATABASE_URL, default a SQLite file in $TM_DATA_HOME) is migrated
    on start; on an empty one the first admin (TENSORMESH_ADMIN_EMAIL, default admin@localhost)
    is created without a password: set it with `tm server users set-password`."""
    from tensormesh_server.settings import ServerFlags, SettingsError, resolve_settings

    flags = ServerFlags(
        host=host,
        serverless_port=serverless_port,
        controlplane_port=controlplane_port,
        role=role,
        api_keys=api_keys,
        embedded_model=embedded_model,
        no_embedded=no_embedded,
        upstreams=upstreams,
        models_file=models_file,
        shutdown_seconds=shutdown_timeout,
    )
    try:
        settings = resolve_settings(flags, os.environ)
        from tensormesh_server.serve import run

        code = run(settings)
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    raise SystemExit(code)


# -- operator commands: work on the database directly (no server needed) ------------------------


def _password_from(password_stdin: bool, *, required: bool) -> str | None:
    """The password from stdin (`--password-stdin`), or prompted twice on a terminal."""
    import sys

    if password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.UsageError("no password on stdin")
        return line
    if not required:
        return None
    if not sys.stdin.isatty():
        raise click.UsageError("not a terminal: pass the password with --password-stdin")
    value: str = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    return value


@contextlib.contextmanager
def _database(report: bool = False) -> Iterator[Database]:
    """The migrated database of TENSORMESH_DATABASE_URL (or the SQLite file in the data dir);
    operator errors become one line on stderr and exit code 1."""
    from tensormesh_server.controlplane import operator
    from tensormesh_server.controlplane.errors import CPError
    from tensormesh_server.store.database import DatabaseError, display_url

    try:
        db = operator.open_database(os.environ)
        try:
            before, after = operator.migrate(db)
            if report and before == after:
                click.echo(f"{display_url(db.url)} is up to date (revision {after})", err=True)
            elif report:
                where = display_url(db.url)
                click.echo(
                    f"{where} migrated from {before or 'empty'} to revision {after}", err=True
                )
            yield db
        finally:
            db.dispose()
    except (CPError, DatabaseError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


@server.group("users")
def users_group() -> None:
    """Create and list users of the local platform, set passwords."""


@users_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(("user", "admin", "super-admin")),
    default="user",
    show_default=True,
    help="The user's role.",
)
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def users_create(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create a user (without --password-stdin it has no password until set-password)."""
    from tensormesh_server.controlplane import operator

    password = _password_from(password_stdin, required=False)
    with _database() as db:
        user = operator.create_user(db, email, role=role, display_name=name, password=password)
    click.echo(f"created {user.email} ({user.role}, id {user.id})", err=True)
    if password is None:
        click.echo(f"set its password with: tm server users set-password {user.email}", err=True)


@users_group.command("list")
def users_list() -> None:
    """List every user."""
    from tensormesh_cli.render import View, emit, format_columns
    from tensormesh_cli.state import get_state
    from tensormesh_server.controlplane import operator
    from tensormesh_server.controlplane.wire import user_model

    with _database() as db:
        users = operator.list_users(db)
    rows = [
        {
            "email": user.email,
            "role": user.role,
            "id": user.id,
            "password": "set" if user.password_hash else "not set",
            "createdAt": user.created_at.isoformat(timespec="seconds"),
        }
        for user in users
    ]
    columns = ["email", "role", "password", "id", "createdAt"]
    data = {"users": [user_model(user).to_wire() for user in users]}
    text = format_columns(rows, columns) if rows else "no users"
    emit(View(data=data, text=text, rows=rows, columns=columns), get_state().output)


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def users_set_password(email: str, password_stdin: bool) -> None:
    """Set a user's password (prompts twice on a terminal)."""
    from tensormesh_server.controlplane import operator

    password = _password_from(password_stdin, required=True)
    assert password is not None
    with _database() as db:
        user = operator.set_password(db, email, password)
    click.echo(f"password of {user.email} set", err=True)


@server.group("api-keys")
def api_keys_group() -> None:
    """Create inference API keys for users."""


@api_keys_group.command("create")
@click.option("--user", "email", required=True, help="Email of the key's owner.")
@click.option("--name", default="", help="A name to recognise the key by.")
@click.option(
    "--expires-in",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="DAYS",
    help="Days until the key expires (default: never).",
)
@click.option("--rpm", type=click.IntRange(min=1), help="Rate limit: requests per minute.")
@click.option("--tpm", type=click.IntRange(min=1), help="Rate limit: tokens per minute.")
def api_keys_create(
    email: str, name: str, expires_in: float | None, rpm: int | None, tpm: int | None
) -> None:
    """Create an inference API key and print it (shown this once)."""
    from tensormesh_server.controlplane import operator

    with _database() as db:
        row, secret = operator.create_api_key(
            db,
            email,
            name=name,
            expires_in_days=expires_in,
            requests_per_minute=rpm,
            tokens_per_minute=tpm,
        )
    expiry = f", expires {row.expires_at.isoformat(timespec='seconds')}" if row.expires_at else ""
    click.echo(f"created API key {row.id} for {email}{expiry}; the key (shown once):", err=True)
    click.echo(secret)


@server.group("billing")
def billing_group() -> None:
    """Credit users' balances (on the database directly)."""


@billing_group.command("credit")
@click.argument("email")
@click.argument("amount")
@click.option("--refund", is_flag=True, help="Record it as a REFUND (default: a CREDIT).")
def billing_credit(email: str, amount: str, refund: bool) -> None:
    """Add AMOUNT (e.g. 5.00 or "5 USD") to the balance of the user with EMAIL."""
    from tensormesh.types.money import Money
    from tensormesh_server.controlplane.services.billing import operator_credit

    try:
        credit = Money.parse(amount)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="AMOUNT") from None
    with _database() as db:
        balance = operator_credit(db, email, credit, refund=refund)
    done = "refunded" if refund else "credited"
    click.echo(f"{done} {credit} to {email}; balance now {balance}", err=True)


@server.group("metering")
def metering_group() -> None:
    """The gateways' metering: which runs wrote all their request records."""


@metering_group.command("status")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Runs to list."
)
def metering_status(limit: int) -> None:
    """List the latest gateway runs: running, stopped cleanly, or stopped without writing its
    last records (up to its flush window of requests not metered)."""
    from datetime import datetime, timezone

    from tensormesh_cli.render import View, emit, format_columns
    from tensormesh_cli.state import get_state
    from tensormesh_server.metering.runs import recent_runs, run_state

    with _database() as db:
        runs = recent_runs(db, limit)
    now = datetime.now(timezone.utc)
    states = {
        "running": "running",
        "stopped": "stopped cleanly",
        "lost": "stopped without its last write",
    }
    data = []
    rows = []
    for run in runs:
        state = run_state(run, now)
        item = {
            "id": run.id,
            "host": run.host,
            "pid": run.pid,
            "state": state,
            "flushSeconds": run.flush_seconds,
            "recordsWritten": run.records_written,
            "startedAt": run.started_at.isoformat(timespec="seconds"),
            "lastWriteAt": run.last_write_at.isoformat(timespec="milliseconds"),
            "stoppedAt": run.stopped_at.isoformat(timespec="seconds") if run.stopped_at else None,
            "lostAt": run.lost_at.isoformat(timespec="seconds") if run.lost_at else None,
        }
        data.append(item)
        shown = states[state]
        if state == "lost":
            shown += f" (up to {run.flush_seconds:g} s not metered)"
        rows.append({**item, "state": shown, "records": run.records_written})
    columns = ["id", "host", "pid", "state", "records", "lastWriteAt", "startedAt"]
    text = format_columns(rows, columns) if rows else "no gateway runs yet"
    emit(View(data={"runs": data}, text=text, rows=rows, columns=columns), get_state().output)
    lost = [item for item in data if item["state"] == "lost"]
    if lost:
        click.echo(
            f"warning: {len(lost)} gateway run(s) stopped without writing their last records: "
            "the requests they finished after their last write (at most their flush window) "
            "are not metered",
            err=True,
        )


@server.group("db")
def db_group() -> None:
    """The platform's database."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Run the database migrations (tm server up also runs them on start)."""
    with _database(report=True):
        pass
