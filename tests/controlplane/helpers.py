"""Helpers of the control-plane tests: a fake clock, users, tokens, the browser login."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx2
from sqlalchemy import func, select

from tensormesh.types.control_plane import UserRole
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.services import tokens, users
from tensormesh_server.controlplane.services.activities import OPERATOR
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import Activity, User

PASSWORD = "correct horse battery"


class FakeClock:
    """Wall-clock and monotonic time that only move when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start
        self.elapsed = 1000.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
        self.elapsed += seconds


def make_user(
    db: Database,
    email: str,
    *,
    role: UserRole = UserRole.USER,
    password: str | None = PASSWORD,
    now: datetime,
) -> User:
    """A user created the way the operator command does it."""
    with db.session() as session:
        return users.create_user(
            session, email, now=now, actor=OPERATOR, role=role.value, password=password
        )


def access_token(db: Database, user: User, now: datetime) -> str:
    """A fresh access token for `user` (as an approved login would issue)."""
    with db.session() as session:
        issued = tokens.issue(
            session, user, now=now, config=ControlPlaneConfig(), family_id=tokens.new_family()
        )
    return issued.access_token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"authorization": f"Bearer {token}"}


def csrf_of(page: str) -> str:
    """The CSRF token embedded in a login page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def sign_in(
    client: httpx2.AsyncClient, code: str, email: str, password: str = PASSWORD
) -> httpx2.Response:
    """Open the page for `code` and submit the sign-in form."""
    page = await client.get("/auth/cli/authorize", params={"code": code})
    form = {
        "csrf_token": csrf_of(page.text),
        "code": code,
        "action": "sign-in",
        "email": email,
        "password": password,
    }
    return await client.post("/auth/cli/authorize", data=form)


async def decide(client: httpx2.AsyncClient, code: str, action: str) -> httpx2.Response:
    """Press Approve or Deny on the page of a signed-in browser."""
    page = await client.get("/auth/cli/authorize", params={"code": code})
    assert page.status_code == 200, page.text
    assert f"id={action}" in page.text
    form = {"csrf_token": csrf_of(page.text), "code": code, "action": action}
    return await client.post("/auth/cli/authorize", data=form)


async def browser_login(client: httpx2.AsyncClient, email: str) -> dict[str, object]:
    """The whole CLI login: start, sign in, approve, exchange; returns the token set."""
    code = (await client.post("/auth/cli/start")).json()["cli_code"]
    assert (await sign_in(client, code, email)).status_code == 303
    assert (await decide(client, code, "approve")).status_code == 200
    reply = await client.post("/auth/cli/exchange", json={"cli_code": code})
    assert reply.status_code == 200, reply.text
    data: dict[str, object] = reply.json()
    return data


def activity_count(db: Database, action: str | None = None) -> int:
    """How many activity rows exist (of one action)."""
    query = select(func.count()).select_from(Activity)
    if action is not None:
        query = query.where(Activity.action == action)
    with db.session() as session:
        return int(session.scalar(query) or 0)
