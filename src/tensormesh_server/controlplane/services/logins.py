"""The CLI browser login: a short code is started by `tm auth login`, approved or denied by a
signed-in browser, and exchanged once for tokens.

States: pending -> approved -> used, or pending -> denied; any unused code expires after
`login_code_seconds` (10 minutes).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tensormesh.types.control_plane import TokenSet
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.errors import (
    CPError,
    invalid_argument,
    not_found,
    permission_denied,
)
from tensormesh_server.security.credentials import digest
from tensormesh_server.security.login_codes import new_login_code, normalize_login_code
from tensormesh_server.store.models import CliLogin, User

from . import activities, tokens

PENDING, APPROVED, DENIED, USED = "pending", "approved", "denied", "used"
FORGET_AFTER = timedelta(days=1)


class LoginState(enum.Enum):
    """What the page and the exchange see of a code."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ExchangeResult:
    """The outcome of an exchange that is not an error: pending (202) or tokens (200)."""

    tokens: TokenSet | None


def start(session: Session, *, now: datetime, config: ControlPlaneConfig) -> str:
    """Create a pending login; returns its code `ABCD-EFGH`. Logins expired for a day are
    forgotten on the way."""
    session.execute(delete(CliLogin).where(CliLogin.expires_at <= now - FORGET_AFTER))
    while True:
        code = new_login_code()
        if session.scalar(select(CliLogin.id).where(CliLogin.code_hash == digest(code))) is None:
            break
    session.add(
        CliLogin(
            code_hash=digest(code),
            status=PENDING,
            created_at=now,
            expires_at=now + timedelta(seconds=config.login_code_seconds),
        )
    )
    return code


def _find(session: Session, code: str) -> CliLogin | None:
    canonical = normalize_login_code(code)
    if canonical is None:
        return None
    return session.scalar(select(CliLogin).where(CliLogin.code_hash == digest(canonical)))


def _state(login: CliLogin | None, now: datetime) -> LoginState:
    if login is None:
        return LoginState.UNKNOWN
    if login.status == USED:
        return LoginState.USED
    if login.expires_at <= now:
        return LoginState.EXPIRED
    return LoginState(login.status)


def state_of(session: Session, code: str, *, now: datetime) -> LoginState:
    """The state of a code, for the page."""
    return _state(_find(session, code), now)


def decide(session: Session, user: User, code: str, *, approve: bool, now: datetime) -> LoginState:
    """Approve or deny a pending code as `user`; returns the state the code was in."""
    login = _find(session, code)
    state = _state(login, now)
    if state is not LoginState.PENDING or login is None:
        return state
    changed = session.execute(
        update(CliLogin)
        .where(CliLogin.id == login.id, CliLogin.status == PENDING)
        .values(status=APPROVED if approve else DENIED, user_id=user.id, decided_at=now)
    )
    if getattr(changed, "rowcount", 1) != 1:
        return _state(_find(session, code), now)
    activities.record(
        session,
        activities.Actor.of_user(user),
        "auth.cli_login_approve" if approve else "auth.cli_login_deny",
        resource_type="cli_login",
        resource_id=login.id,
        user_id=user.id,
        now=now,
        description=f"{user.email} {'approved' if approve else 'denied'} a CLI login",
    )
    return LoginState.PENDING


def exchange(
    session: Session, code: str, *, now: datetime, config: ControlPlaneConfig
) -> ExchangeResult:
    """Pending (tokens None) or the tokens of an approved code, once. Raises CPError: 400
    malformed/expired/used, 404 unknown, 403 denied."""
    if normalize_login_code(code) is None:
        raise invalid_argument("cli_code is not a login code (expected ABCD-EFGH)")
    login = _find(session, code)
    state = _state(login, now)
    if state is LoginState.PENDING:
        return ExchangeResult(None)
    if state is LoginState.DENIED:
        raise permission_denied("the login was denied in the browser")
    if state is not LoginState.APPROVED or login is None or login.user_id is None:
        raise _refusal(state)
    used = session.execute(
        update(CliLogin)
        .where(CliLogin.id == login.id, CliLogin.status == APPROVED)
        .values(status=USED, used_at=now)
    )
    if getattr(used, "rowcount", 1) != 1:
        raise _refusal(LoginState.USED)
    user = session.get(User, login.user_id)
    if user is None:
        raise _refusal(LoginState.UNKNOWN)
    issued = tokens.issue(session, user, now=now, config=config, family_id=tokens.new_family())
    activities.record(
        session,
        activities.Actor.of_user(user),
        "auth.cli_login",
        resource_type="cli_login",
        resource_id=login.id,
        user_id=user.id,
        now=now,
        description=f"{user.email} logged in the CLI",
    )
    return ExchangeResult(issued)


def _refusal(state: LoginState) -> CPError:
    if state is LoginState.UNKNOWN:
        return not_found("unknown login code; run `tm auth login` again")
    if state is LoginState.EXPIRED:
        return invalid_argument("the login code has expired; run `tm auth login` again")
    return invalid_argument("the login code was already used; run `tm auth login` again")
