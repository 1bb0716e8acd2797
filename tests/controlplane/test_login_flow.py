"""The CLI browser login (start, page, approve/deny, exchange), refresh rotation, CSRF and the
brute-force limits, over the app in process on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx2
import pytest
from sqlalchemy import func, select

from tensormesh.types.control_plane import UserRole
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.security.login_codes import ALPHABET
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import CliLogin

from .helpers import (
    PASSWORD,
    FakeClock,
    activity_count,
    bearer,
    browser_login,
    csrf_of,
    decide,
    make_user,
    sign_in,
)

EMAIL = "ada@example.com"


@pytest.fixture
def ada(db: Database, clock: FakeClock) -> str:
    make_user(db, EMAIL, now=clock.now())
    return EMAIL


async def start(client: httpx2.AsyncClient) -> str:
    reply = await client.post("/auth/cli/start")
    assert reply.status_code == 200
    data = reply.json()
    code = data["cli_code"]
    assert re.fullmatch(f"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", code)
    assert data["auth_url"] == f"http://cp.test/auth/cli/authorize?code={code}"
    assert data["interval"] == 2
    return str(code)


async def exchange(client: httpx2.AsyncClient, code: str) -> httpx2.Response:
    return await client.post("/auth/cli/exchange", json={"cli_code": code})


async def test_approved_login_hands_out_tokens_once(
    client: httpx2.AsyncClient, db: Database, ada: str
) -> None:
    code = await start(client)
    assert (await exchange(client, code)).status_code == 202
    page = await client.get("/auth/cli/authorize", params={"code": code})
    assert page.status_code == 200
    assert code in page.text
    assert "id=sign-in" in page.text
    assert (await sign_in(client, code, ada)).status_code == 303
    assert (await exchange(client, code)).status_code == 202  # signed in, not approved yet
    approved = await decide(client, code, "approve")
    assert approved.status_code == 200
    assert "Approved" in approved.text

    first = await exchange(client, code)
    assert first.status_code == 200
    tokens = first.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["access_token"].startswith("tmcp_")
    assert tokens["refresh_token"].startswith("tmrt_")
    assert first.headers["cache-control"] == "no-store"

    again = await exchange(client, code)
    assert again.status_code == 400
    assert again.json()["code"] == 3
    assert "already used" in again.json()["message"]

    profile = await client.get("/auth/profile", headers=bearer(tokens["access_token"]))
    assert profile.status_code == 200
    assert profile.json()["user"]["userEmail"] == ada
    assert activity_count(db, "auth.cli_login_approve") == 1
    assert activity_count(db, "auth.cli_login") == 1
    assert activity_count(db, "auth.sign_in") == 1


async def test_denied_login_is_403_and_gives_no_tokens(
    client: httpx2.AsyncClient, db: Database, ada: str
) -> None:
    code = await start(client)
    await sign_in(client, code, ada)
    denied = await decide(client, code, "deny")
    assert denied.status_code == 200
    assert "Denied" in denied.text
    reply = await exchange(client, code)
    assert reply.status_code == 403
    assert reply.json() == {"code": 7, "message": reply.json()["message"], "details": []}
    again = await client.get("/auth/cli/authorize", params={"code": code})
    assert "denied" in again.text
    assert "id=approve" not in again.text
    assert activity_count(db, "auth.cli_login_deny") == 1


async def test_unknown_and_malformed_codes(client: httpx2.AsyncClient) -> None:
    unknown = await exchange(client, "ABCD-EFGH")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == 5
    malformed = await exchange(client, "not a code")
    assert malformed.status_code == 400
    missing = await client.post("/auth/cli/exchange", json={})
    assert missing.status_code == 400
    assert "cli_code" in missing.json()["message"]
    page = await client.get("/auth/cli/authorize", params={"code": "ABCD-EFGH"})
    assert page.status_code == 404
    assert "not known" in page.text


async def test_code_expires_after_ten_minutes(
    client: httpx2.AsyncClient, clock: FakeClock, ada: str
) -> None:
    code = await start(client)
    await sign_in(client, code, ada)
    clock.advance(599)
    assert (await exchange(client, code)).status_code == 202
    clock.advance(2)
    expired = await exchange(client, code)
    assert expired.status_code == 400
    assert "expired" in expired.json()["message"]
    page = await client.get("/auth/cli/authorize", params={"code": code})
    assert page.status_code == 400
    assert "expired" in page.text


async def test_approved_code_expires_unused(
    client: httpx2.AsyncClient, clock: FakeClock, ada: str
) -> None:
    code = await start(client)
    await sign_in(client, code, ada)
    await decide(client, code, "approve")
    clock.advance(601)
    assert (await exchange(client, code)).status_code == 400


async def test_code_is_accepted_in_lowercase_without_dash(
    client: httpx2.AsyncClient, ada: str
) -> None:
    code = await start(client)
    await sign_in(client, code, ada)
    await decide(client, code, "approve")
    assert (await exchange(client, code.replace("-", "").lower())).status_code == 200


async def test_refresh_rotates_and_a_replay_revokes_the_login(
    client: httpx2.AsyncClient, db: Database, ada: str
) -> None:
    first = await browser_login(client, ada)
    rotated = await client.post("/auth/cli/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await client.get("/auth/profile", headers=bearer(second["access_token"]))).is_success

    replay = await client.post("/auth/cli/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert "already used" in replay.json()["message"]
    # The replay revoked the whole family: the newest tokens stop working too.
    for token in (first["access_token"], second["access_token"]):
        refused = await client.get("/auth/profile", headers=bearer(str(token)))
        assert refused.status_code == 401
    after = await client.post("/auth/cli/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    assert activity_count(db, "auth.refresh_token_reused") == 1
    assert activity_count(db, "auth.token_refresh") == 1


async def test_refresh_refuses_garbage(client: httpx2.AsyncClient) -> None:
    reply = await client.post("/auth/cli/refresh", json={"refresh_token": "tmrt_nope"})
    assert reply.status_code == 401
    assert reply.json()["code"] == 16
    assert (await client.post("/auth/cli/refresh", content=b"[1]")).status_code == 400


async def test_access_token_expires(client: httpx2.AsyncClient, clock: FakeClock, ada: str) -> None:
    tokens = await browser_login(client, ada)
    clock.advance(3599)
    assert (
        await client.get("/auth/profile", headers=bearer(str(tokens["access_token"])))
    ).is_success
    clock.advance(2)
    expired = await client.get("/auth/profile", headers=bearer(str(tokens["access_token"])))
    assert expired.status_code == 401
    assert "expired" in expired.json()["message"]
    renewed = await client.post(
        "/auth/cli/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert renewed.status_code == 200


async def test_post_without_csrf_token_is_refused(
    client: httpx2.AsyncClient, db: Database, ada: str
) -> None:
    code = await start(client)
    await sign_in(client, code, ada)
    for form in (
        {"code": code, "action": "approve"},
        {"code": code, "action": "approve", "csrf_token": "forged"},
    ):
        reply = await client.post("/auth/cli/authorize", data=form)
        assert reply.status_code == 403
        assert "could not be verified" in reply.text
    # A fresh browser (no CSRF cookie) posting a sign-in form is refused too.
    async with httpx2.AsyncClient(transport=client._transport, base_url="http://cp.test") as other:
        reply = await other.post(
            "/auth/cli/authorize",
            data={"code": code, "action": "sign-in", "email": ada, "password": PASSWORD},
        )
        assert reply.status_code == 403
    assert (await exchange(client, code)).status_code == 202
    assert activity_count(db, "auth.cli_login_approve") == 0


async def test_approve_needs_a_signed_in_browser(client: httpx2.AsyncClient, ada: str) -> None:
    code = await start(client)
    page = await client.get("/auth/cli/authorize", params={"code": code})
    form = {"csrf_token": csrf_of(page.text), "code": code, "action": "approve"}
    reply = await client.post("/auth/cli/authorize", data=form)
    assert reply.status_code == 401
    assert "sign in" in reply.text.lower()
    assert (await exchange(client, code)).status_code == 202


async def test_session_and_csrf_cookies_are_httponly_lax(
    client: httpx2.AsyncClient, ada: str
) -> None:
    code = await start(client)
    page = await client.get("/auth/cli/authorize", params={"code": code})
    assert "httponly" in page.headers["set-cookie"].lower()
    assert "samesite=lax" in page.headers["set-cookie"].lower()
    assert "default-src 'none'" in page.headers["content-security-policy"]
    signed = await sign_in(client, code, ada)
    cookie = signed.headers["set-cookie"].lower()
    assert cookie.startswith("tm_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "http" not in page.text.split("<body>")[1].replace("http://cp.test", "")


async def test_sign_out_forgets_the_browser(
    client: httpx2.AsyncClient, db: Database, ada: str
) -> None:
    code = await start(client)
    await sign_in(client, code, ada)
    page = await client.get("/auth/cli/authorize", params={"code": code})
    form = {"csrf_token": csrf_of(page.text), "code": code, "action": "sign-out"}
    assert (await client.post("/auth/cli/authorize", data=form)).status_code == 303
    again = await client.get("/auth/cli/authorize", params={"code": code})
    assert "id=sign-in" in again.text
    assert "id=approve" not in again.text
    assert activity_count(db, "auth.sign_out") == 1


async def test_wrong_password_then_sign_in_is_rate_limited(
    client: httpx2.AsyncClient, clock: FakeClock, config: ControlPlaneConfig, ada: str
) -> None:
    code = await start(client)
    for _ in range(config.sign_in_failures):
        wrong = await sign_in(client, code, ada, "wrong password!")
        assert wrong.status_code == 401
        assert "Wrong email or password" in wrong.text
    limited = await sign_in(client, code, ada)  # even the right password waits now
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= config.sign_in_window_seconds
    other = await sign_in(client, code, "someone@example.com", "whatever!")
    assert other.status_code == 401  # the limit is per email and address
    clock.advance(config.sign_in_window_seconds + 1)
    fresh = await start(client)  # the first code expired meanwhile
    assert (await sign_in(client, fresh, ada)).status_code == 303


async def test_unknown_email_looks_like_a_wrong_password(
    client: httpx2.AsyncClient, ada: str
) -> None:
    code = await start(client)
    reply = await sign_in(client, code, "nobody@example.com")
    assert reply.status_code == 401
    assert "Wrong email or password" in reply.text


async def test_exchange_brute_force_is_rate_limited(
    client: httpx2.AsyncClient, clock: FakeClock, config: ControlPlaneConfig, ada: str
) -> None:
    code = await start(client)
    await sign_in(client, code, ada)
    await decide(client, code, "approve")
    guesses = [f"{ALPHABET[i % 32] * 4}-{ALPHABET[(i * 7) % 32] * 4}" for i in range(64)]
    statuses = [(await exchange(client, guess)).status_code for guess in guesses]
    assert statuses[: config.exchange_failures] == [404] * config.exchange_failures
    assert set(statuses[config.exchange_failures :]) == {429}
    limited = await exchange(client, code)  # even the right code waits now
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json()["code"] == 8
    clock.advance(config.exchange_window_seconds + 1)
    assert (await exchange(client, code)).status_code == 200


async def test_polling_a_pending_code_is_not_limited(
    client: httpx2.AsyncClient, config: ControlPlaneConfig
) -> None:
    code = await start(client)
    for _ in range(config.exchange_failures * 2):
        assert (await exchange(client, code)).status_code == 202


async def test_page_without_code_asks_for_it_and_escapes_input(
    client: httpx2.AsyncClient,
) -> None:
    empty = await client.get("/auth/cli/authorize")
    assert empty.status_code == 200
    assert "id=code-input" in empty.text
    hostile = await client.get("/auth/cli/authorize", params={"code": "<script>x</script>"})
    assert hostile.status_code == 400
    assert "<script>x" not in hostile.text
    script = await client.get("/auth/cli/login.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")


async def test_approving_as_admin_for_a_terminal(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, cp: ControlPlaneContext
) -> None:
    make_user(db, "root@example.com", role=UserRole.SUPER_ADMIN, now=clock.now())
    tokens = await browser_login(client, "root@example.com")
    profile = await client.get("/auth/profile", headers=bearer(str(tokens["access_token"])))
    assert profile.json()["user"]["userRole"] == "USER_ROLE_SUPER_ADMIN"


async def test_starting_logins_is_rate_limited_per_address(
    client: httpx2.AsyncClient, clock: FakeClock, config: ControlPlaneConfig
) -> None:
    for _ in range(config.starts_per_window):
        assert (await client.post("/auth/cli/start")).status_code == 200
    limited = await client.post("/auth/cli/start")
    assert limited.status_code == 429
    assert limited.json()["code"] == 8
    clock.advance(config.start_window_seconds + 1)
    assert (await client.post("/auth/cli/start")).status_code == 200


async def test_old_logins_are_forgotten(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock
) -> None:
    old = await start(client)
    clock.advance(600 + 24 * 3600 + 1)
    await start(client)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(CliLogin)) == 1
    assert (await exchange(client, old)).status_code == 404
