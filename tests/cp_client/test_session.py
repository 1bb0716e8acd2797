"""The CLI's control-plane session: saved tokens refreshed before they expire and once on a
401, written to auth.json before use, refresh tokens never lost, the environment token wins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tensormesh import Tensormesh
from tensormesh_cli.auth_store import AuthStore, Login
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.errors import EXIT_AUTH, AuthRequired
from tensormesh_cli.settings import Settings

BASE = "http://cp.test"
NOW = 1_000_000.0
PROFILE = {"user": {"id": "u-1", "userEmail": "ada@example.com"}}


def settings(token: str | None = None) -> Settings:
    return Settings(
        serverless_base="http://serverless.test",
        controlplane_base=BASE,
        timeout_seconds=5.0,
        max_retries=0,
        ca_bundle=None,
        gateway_api_key=None,
        control_plane_token=token,
        config_path=Path("/nonexistent/config.toml"),
        sources={},
    )


class FakeControlPlane:
    """Answers /auth/profile for `valid` tokens (else 401) and rotates refresh tokens."""

    def __init__(
        self,
        store: AuthStore,
        *,
        valid: set[str],
        refresh_reply: Any = None,
        accept_refreshed: bool = True,
    ) -> None:
        self.store = store
        self.accept_refreshed = accept_refreshed
        self.valid = valid
        self.refresh_reply = refresh_reply
        self.seen: list[tuple[str, str | None]] = []
        self.saved_when_used: list[str | None] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        auth = request.headers.get("authorization")
        token = auth.removeprefix("Bearer ") if auth else None
        self.seen.append((request.url.path, token))
        if request.url.path == "/auth/cli/refresh":
            if self.refresh_reply is None:
                return httpx2.Response(401, json={"code": 16, "message": "refresh token reused"})
            if self.accept_refreshed:
                self.valid.add(self.refresh_reply["access_token"])
            return httpx2.Response(200, json=self.refresh_reply)
        saved = self.store.get(BASE)
        self.saved_when_used.append(saved.access_token if saved else None)
        if token in self.valid:
            return httpx2.Response(200, json=PROFILE)
        return httpx2.Response(401, json={"code": 16, "message": "access token expired"})


def make_session(
    tmp_path: Path, handler: FakeControlPlane, token: str | None = None
) -> ControlPlaneSession:
    def factory(cp_token: str | None) -> Tensormesh:
        return Tensormesh(
            control_plane_base_url=BASE,
            control_plane_token=cp_token,
            max_retries=0,
            env={},
            http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        )

    return ControlPlaneSession(settings(token), handler.store, factory, clock=lambda: NOW)


def saved(access: str, refresh: str | None, expires_at: float | None) -> Login:
    return Login(BASE, access, refresh, expires_at=expires_at, user_email="ada@example.com")


def profile_email(session: ControlPlaneSession) -> str | None:
    return session.call(lambda cp: cp.users.get_auth_profile()).user.user_email


@pytest.fixture
def store(tmp_path: Path) -> AuthStore:
    return AuthStore(tmp_path / "auth.json")


def test_valid_saved_token_is_used_as_is(tmp_path: Path, store: AuthStore) -> None:
    store.save(saved("tmcp_1", "tmrt_1", NOW + 3600))
    handler = FakeControlPlane(store, valid={"tmcp_1"})
    assert profile_email(make_session(tmp_path, handler)) == "ada@example.com"
    assert handler.seen == [("/auth/profile", "tmcp_1")]


def test_expired_token_is_refreshed_and_saved_before_use(tmp_path: Path, store: AuthStore) -> None:
    store.save(saved("tmcp_old", "tmrt_1", NOW - 1))
    reply = {"access_token": "tmcp_new", "refresh_token": "tmrt_2", "expires_in": 3600}
    handler = FakeControlPlane(store, valid=set(), refresh_reply=reply)
    assert profile_email(make_session(tmp_path, handler)) == "ada@example.com"
    assert handler.seen == [("/auth/cli/refresh", None), ("/auth/profile", "tmcp_new")]
    assert handler.saved_when_used == ["tmcp_new"]  # on disk before it was sent
    now_saved = store.get(BASE)
    assert now_saved == saved("tmcp_new", "tmrt_2", NOW + 3600)
    body = json.loads(store.path.read_text())["logins"][BASE]
    assert body["refresh_token"] == "tmrt_2"


def test_refresh_reply_without_refresh_token_keeps_the_saved_one(
    tmp_path: Path, store: AuthStore
) -> None:
    store.save(saved("tmcp_old", "tmrt_keep", NOW - 1))
    handler = FakeControlPlane(store, valid=set(), refresh_reply={"access_token": "tmcp_new"})
    profile_email(make_session(tmp_path, handler))
    assert store.get(BASE) == saved("tmcp_new", "tmrt_keep", None)


def test_a_401_refreshes_once_and_retries(tmp_path: Path, store: AuthStore) -> None:
    store.save(saved("tmcp_revoked", "tmrt_1", NOW + 3600))
    reply = {"access_token": "tmcp_new", "refresh_token": "tmrt_2", "expires_in": 3600}
    handler = FakeControlPlane(store, valid=set(), refresh_reply=reply)
    assert profile_email(make_session(tmp_path, handler)) == "ada@example.com"
    assert [path for path, _ in handler.seen] == [
        "/auth/profile",
        "/auth/cli/refresh",
        "/auth/profile",
    ]


def test_a_second_401_asks_to_log_in_again(tmp_path: Path, store: AuthStore) -> None:
    store.save(saved("tmcp_revoked", "tmrt_1", NOW + 3600))
    reply = {"access_token": "tmcp_also_refused", "refresh_token": "tmrt_2"}
    handler = FakeControlPlane(store, valid=set(), refresh_reply=reply, accept_refreshed=False)
    with pytest.raises(AuthRequired, match=r"refused the saved login .*tm auth login") as caught:
        profile_email(make_session(tmp_path, handler))
    assert caught.value.exit_code == EXIT_AUTH
    assert [path for path, _ in handler.seen] == [
        "/auth/profile",
        "/auth/cli/refresh",
        "/auth/profile",
    ]
    assert store.get(BASE) == saved("tmcp_also_refused", "tmrt_2", None)


def test_refused_refresh_token_asks_to_log_in_and_keeps_the_file(
    tmp_path: Path, store: AuthStore
) -> None:
    store.save(saved("tmcp_old", "tmrt_reused", NOW - 1))
    handler = FakeControlPlane(store, valid=set(), refresh_reply=None)
    with pytest.raises(AuthRequired, match=r"expired or was revoked .*tm auth login"):
        profile_email(make_session(tmp_path, handler))
    assert store.get(BASE) == saved("tmcp_old", "tmrt_reused", NOW - 1)


def test_token_refreshed_by_another_process_is_used_without_spending_ours(
    tmp_path: Path, store: AuthStore
) -> None:
    store.save(saved("tmcp_theirs", "tmrt_theirs", NOW + 3600))
    handler = FakeControlPlane(store, valid={"tmcp_theirs"})
    session = make_session(tmp_path, handler)
    login = session.refresh(stale_token="tmcp_ours_expired")
    assert login.access_token == "tmcp_theirs"
    assert handler.seen == []


def test_environment_token_wins_and_is_never_refreshed(tmp_path: Path, store: AuthStore) -> None:
    store.save(saved("tmcp_saved", "tmrt_1", NOW - 1))
    handler = FakeControlPlane(store, valid=set(), refresh_reply={"access_token": "x"})
    session = make_session(tmp_path, handler, token="tmcp_env")
    with pytest.raises(AuthRequired, match="refused TENSORMESH_CONTROL_PLANE_TOKEN"):
        profile_email(session)
    assert handler.seen == [("/auth/profile", "tmcp_env")]


def test_not_logged_in(tmp_path: Path, store: AuthStore) -> None:
    handler = FakeControlPlane(store, valid=set())
    with pytest.raises(AuthRequired, match=r"not logged in .*http://cp\.test.*tm auth login"):
        profile_email(make_session(tmp_path, handler))
    assert handler.seen == []
