"""`tm auth`: browser login to the control plane, and the saved login (auth.json)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.control_plane_session import TOKEN_ENV, ControlPlaneSession
from tensormesh_cli.errors import EXIT_AUTH, EXIT_ERROR, AuthRequired, CliError, InputError
from tensormesh_cli.render import View, emit, format_text
from tensormesh_cli.state import get_state

if TYPE_CHECKING:
    from tensormesh.resources.control_plane.auth import CliAuth
    from tensormesh.types.control_plane import CliStart, TokenSet, User

DEFAULT_MAX_WAIT_SECONDS = 600  # a login code expires after 10 minutes
MIN_POLL_SECONDS = 0.2


@click.group()
def auth() -> None:
    """Log in to the control plane and manage the saved login."""


@auth.command()
@click.option("--no-open-browser", is_flag=True, help="Only print the URL; do not open a browser.")
@click.option(
    "--max-wait-seconds",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_WAIT_SECONDS,
    show_default=True,
    help="Give up if the login is not approved within this time.",
)
def login(no_open_browser: bool, max_wait_seconds: int) -> None:
    """Log in with a browser: sign in on the page and approve the code shown here."""
    state = get_state()
    session = ControlPlaneSession.for_state(state)
    cli = session.anonymous().auth.cli
    start = session.reaching(cli.start)
    # The URL and the code are what the user needs to act on: shown even with --quiet.
    click.echo(
        f"Open this page to log in to {session.base}:\n\n    {start.auth_url}\n\n"
        f"and check that it shows the code  {start.cli_code}",
        err=True,
    )
    if not no_open_browser and not _open_browser(start.auth_url):
        state.say("(Could not open a browser: open the page above yourself.)")
    state.say(f"Waiting up to {max_wait_seconds} s for the approval (Ctrl-C to cancel)...")
    tokens = session.reaching(lambda: wait_for_approval(cli, start, max_wait_seconds))
    session.save_new_login(tokens)
    new_login = session.client(tokens.access_token).control_plane  # not the environment's token
    user = session.reaching(new_login.users.get_auth_profile).user
    session.remember_user(user.user_email)
    state.say(f"Logged in to {session.base} as {_who(user)}.")
    if session.environment_token is not None:
        state.say(f"Note: {TOKEN_ENV} is set and is used instead of this login until unset.")
    if state.output != "text":  # the messages above are the text form
        emit(View(data=user), state.output)


def _open_browser(url: str) -> bool:
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def wait_for_approval(
    cli: CliAuth,
    start: CliStart,
    max_wait_seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TokenSet:
    """Poll the exchange every `interval` seconds until the login is approved, denied or
    expires, or `max_wait_seconds` pass; slow down when the server says 429."""
    import tensormesh

    deadline = clock() + max_wait_seconds
    interval = max(float(start.interval), MIN_POLL_SECONDS)
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            raise CliError(
                f"the login was not approved within {max_wait_seconds:g} s; "
                "run `tm auth login` again"
            )
        sleep(min(interval, remaining))
        try:
            tokens = cli.exchange(cli_code=start.cli_code)
        except tensormesh.RateLimitError as exc:
            interval = max(interval * 2, _retry_after(exc) or 0.0)
            continue
        except tensormesh.PermissionDeniedError:
            raise AuthRequired(
                f"the login was denied in the browser (code {start.cli_code}); nothing was saved"
            ) from None
        except (tensormesh.BadRequestError, tensormesh.NotFoundError) as exc:
            raise AuthRequired(
                f"the login code {start.cli_code} expired or was already used "
                f"({exc.message}); run `tm auth login` again"
            ) from None
        if tokens is not None:
            return tokens


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


@auth.command()
@click.option("--all", "all_", is_flag=True, help="Forget the logins of every control plane.")
def logout(all_: bool) -> None:
    """Forget the saved login of the configured control plane."""
    state = get_state()
    session = ControlPlaneSession.for_state(state)
    removed = session.store.remove(None if all_ else session.base)
    if removed:
        state.say("Logged out of " + ", ".join(removed) + ".")
    else:
        state.say(f"Not logged in to {'any control plane' if all_ else session.base}.")
    if session.environment_token is not None:
        state.say(f"Note: {TOKEN_ENV} is still set.")


@auth.command()
def refresh() -> None:
    """Get a new access token with the saved refresh token now."""
    state = get_state()
    session = ControlPlaneSession.for_state(state)
    if session.saved_login() is None:
        raise session.not_logged_in()
    login = session.reaching(session.refresh)
    state.say(f"Refreshed the login to {session.base}; {_expiry_text(login.expires_at)}.")


@auth.command()
def whoami() -> None:
    """Show the user the control-plane credential belongs to."""
    state = get_state()
    session = ControlPlaneSession.for_state(state)
    user = session.call(lambda cp: cp.users.get_auth_profile()).user
    emit(View(data=user, text=format_text(user_summary(user))), state.output)


def user_summary(user: User) -> dict[str, Any]:
    """The fields a person wants to see, in order (those without a value left out)."""
    names = " ".join(part for part in (user.first_name, user.last_name) if part)
    summary = {
        "email": user.user_email,
        "name": user.display_name or names,
        "role": _text(user.user_role),
        "id": user.id,
        "company": user.company,
        "tos_accepted_at": timestamp_text(user.tos_accepted_at),
    }
    return {key: value for key, value in summary.items() if value}


def timestamp_text(value: datetime | None) -> str | None:
    """A timestamp as RFC 3339 in UTC to the second (`2026-01-31T12:00:00Z`)."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _who(user: User) -> str:
    return user.user_email or user.display_name or user.id


@auth.command()
@click.option("--exit-status", is_flag=True, help="Exit 4 when not logged in, 1 when unreachable.")
def status(exit_status: bool) -> None:
    """Show whether this machine is logged in to the control plane (and check it)."""
    import tensormesh

    state = get_state()
    session = ControlPlaneSession.for_state(state)
    report: dict[str, Any] = {"controlplane_base": session.base, "logged_in": False}
    login = None
    if session.environment_token is not None:
        report["credential"] = TOKEN_ENV
    else:
        login = session.saved_login()
        report["credential"] = str(session.store.path) if login else None
    problem_code = 0
    if report["credential"] is None:
        report["detail"] = "not logged in: run `tm auth login`"
        problem_code = EXIT_AUTH
    else:
        if login is not None:
            report["access_token"] = _expiry_text(login.expires_at)
            report["refresh_token"] = "saved" if login.refresh_token else "none"
        try:
            user = session.call(lambda cp: cp.users.get_auth_profile()).user
        except CliError as exc:  # AuthRequired (4), or the control plane is unreachable (1)
            report["detail"] = exc.format_message()
            problem_code = exc.exit_code
        except tensormesh.APIError as exc:
            from tensormesh_cli.error_messages import describe

            report["detail"] = describe(exc, state).format_message()
            problem_code = EXIT_ERROR
        else:
            report.update(logged_in=True, user=user.user_email, role=_text(user.user_role))
            # a refresh may have happened: show the expiry now saved
            login = session.saved_login() if login is not None else None
            if login is not None:
                report["access_token"] = _expiry_text(login.expires_at)
    emit(View(data=report, text=_status_text(report, problem_code)), state.output)
    if exit_status and problem_code:
        raise click.exceptions.Exit(problem_code)


def _status_text(report: dict[str, Any], problem_code: int) -> str:
    base = report["controlplane_base"]
    if report["logged_in"]:
        head = f"Logged in to {base} as {report['user']} ({report['role']})"
    elif report["credential"] is None:
        head = f"Not logged in to {base}"
    elif problem_code == EXIT_AUTH:
        head = f"The login to {base} is not valid"
    else:
        head = f"Could not check the login to {base}"
    lines = [head]
    labels = {
        "credential": "credential",
        "access_token": "access token",
        "refresh_token": "refresh token",
        "detail": "problem",
    }
    lines += [f"  {label}: {report[key]}" for key, label in labels.items() if report.get(key)]
    return "\n".join(lines)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _expiry_text(expires_at: float | None) -> str:
    if expires_at is None:
        return "expiry unknown"
    when = timestamp_text(datetime.fromtimestamp(expires_at, timezone.utc))
    left = expires_at - time.time()
    if left <= 0:
        return f"expired at {when} (refreshed on next use)"
    return f"expires at {when} (in {int(left // 60)} min)"


@auth.command("print-token")
@click.option("--yes-i-know", is_flag=True, help="Confirm that you will keep the token secret.")
def print_token(yes_i_know: bool) -> None:
    """Print the access token (for scripts; anyone holding it acts as you)."""
    if not yes_i_know:
        raise InputError(
            "refusing to print the access token: anyone who sees it can act as you on the "
            "control plane; pass --yes-i-know if you really need it"
        )
    state = get_state()
    session = ControlPlaneSession.for_state(state)
    click.echo(session.reaching(session.access_token))
