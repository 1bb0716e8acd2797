"""`tm doctor`: is this machine ready? The serverless checks of `tm infer doctor`, then the
control plane's. A control plane without a login is "not configured", not a failure: an
inference API key is all that inference needs."""

from __future__ import annotations

from dataclasses import replace

import click

from tensormesh_cli.commands.infer.doctor import (
    FAIL,
    OK,
    Check,
    readiness_exit_code,
    run_checks,
)
from tensormesh_cli.control_plane_session import TOKEN_ENV, ControlPlaneSession
from tensormesh_cli.errors import AuthRequired, CliError
from tensormesh_cli.render import View, emit, format_columns
from tensormesh_cli.state import CliState, get_state

NOT_CONFIGURED = "not configured"
SURFACE_WIDE = ("config",)  # checks of `tm infer doctor` that are not about the serverless API


@click.command()
@click.option("--model", "-m", help="Model for the API key check (default: the first listed).")
@click.option("--exit-status", is_flag=True, help="Exit non-zero when not ready (4: credentials).")
def doctor(model: str | None, exit_status: bool) -> None:
    """Check the configuration, the serverless API and key, and the control-plane login."""
    state = get_state()
    checks = [
        check if check.name in SURFACE_WIDE else replace(check, name=f"serverless {check.name}")
        for check in run_checks(state, model)
    ]
    if checks[0].status == OK:  # the settings resolved
        checks += control_plane_checks(state)
    ready = not any(check.status == FAIL for check in checks)
    rows = [{"check": c.name, "status": c.status, "detail": c.detail} for c in checks]
    emit(
        View(
            data={"ready": ready, "checks": rows},
            text=format_columns(rows) + f"\n\n{'ready' if ready else 'NOT ready'}",
            rows=rows,
            columns=("check", "status", "detail"),
        ),
        state.output,
    )
    if exit_status and not ready:
        raise click.exceptions.Exit(readiness_exit_code(checks))


def control_plane_checks(state: CliState) -> list[Check]:
    """Whether a control-plane credential is set up and accepted."""
    import tensormesh
    from tensormesh_cli.error_messages import describe

    session = ControlPlaneSession.for_state(state)
    if session.environment_token is not None:
        credential = Check("control plane login", OK, f"from {TOKEN_ENV}")
    else:
        try:
            login = session.saved_login()
        except CliError as exc:
            return [Check("control plane login", FAIL, exc.format_message(), auth=True)]
        if login is None:
            detail = f"no login for {session.base} (only needed to manage keys: `tm auth login`)"
            return [Check("control plane login", NOT_CONFIGURED, detail)]
        credential = Check("control plane login", OK, f"from {session.store.path}")
    try:
        user = session.call(lambda cp: cp.users.get_auth_profile()).user
    except AuthRequired as exc:
        accepted = Check("control plane token accepted", FAIL, exc.format_message(), auth=True)
    except CliError as exc:
        accepted = Check("control plane token accepted", FAIL, exc.format_message())
    except tensormesh.TensormeshError as exc:
        accepted = Check(
            "control plane token accepted", FAIL, describe(exc, state).format_message()
        )
    else:
        who = user.user_email or user.id
        accepted = Check("control plane token accepted", OK, f"{session.base}: {who}")
    return [credential, accepted]
