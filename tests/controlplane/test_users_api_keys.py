"""Users and API keys over the app in process: replies, acting-for rules, secrets shown once,
activities written by every change, the credential-mix-up messages, the OpenAPI document."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx2
import pytest
from sqlalchemy import text

from tensormesh.types.control_plane import ApiKeyList, UserRole
from tensormesh_server.controlplane.services import api_keys
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import User

from .helpers import FakeClock, access_token, activity_count, bearer, make_user


@pytest.fixture
def alice(db: Database, clock: FakeClock) -> User:
    return make_user(db, "alice@example.com", now=clock.now())


@pytest.fixture
def bob(db: Database, clock: FakeClock) -> User:
    return make_user(db, "bob@example.com", now=clock.now())


@pytest.fixture
def admin(db: Database, clock: FakeClock) -> User:
    return make_user(db, "admin@example.com", role=UserRole.ADMIN, now=clock.now())


def auth(db: Database, user: User, clock: FakeClock) -> dict[str, str]:
    return bearer(access_token(db, user, clock.now()))


async def test_profile_get_update_accept_tos(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, alice: User
) -> None:
    headers = auth(db, alice, clock)
    profile = (await client.get("/auth/profile", headers=headers)).json()["user"]
    assert profile["id"] == alice.id
    assert profile["userEmail"] == "alice@example.com"
    assert profile["userRole"] == "USER_ROLE_USER"
    assert profile["createdAt"].endswith("Z")
    assert "tosAcceptedAt" not in profile
    assert "passwordHash" not in json.dumps(profile)

    update = {"firstName": "Alice", "lastName": "Liddell", "company": "Wonderland"}
    reply = await client.put(f"/v1/users/{alice.id}", headers=headers, json=update)
    assert reply.status_code == 200
    assert reply.json() == {}
    user = (await client.get(f"/v1/users/{alice.id}", headers=headers)).json()["user"]
    assert (user["firstName"], user["lastName"], user["company"]) == (
        "Alice",
        "Liddell",
        "Wonderland",
    )
    assert user["displayName"] == ""  # fields not given stay as they were

    clock.advance(5)
    accepted = await client.post("/v1/users/accept-tos", headers=headers)
    assert accepted.status_code == 200
    assert accepted.json()["user"]["tosAcceptedAt"] == "2026-01-01T12:00:05Z"
    assert activity_count(db, "user.update") == 1
    assert activity_count(db, "user.accept_tos") == 1


async def test_user_update_validates(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, alice: User
) -> None:
    headers = auth(db, alice, clock)
    too_long = await client.put(
        f"/v1/users/{alice.id}", headers=headers, json={"company": "x" * 201}
    )
    assert too_long.status_code == 400
    assert too_long.json()["code"] == 3
    wrong_type = await client.put(f"/v1/users/{alice.id}", headers=headers, json={"company": 5})
    assert wrong_type.status_code == 400
    not_json = await client.put(f"/v1/users/{alice.id}", headers=headers, content=b"{")
    assert not_json.status_code == 400


async def test_users_may_not_read_or_change_each_other(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, alice: User, bob: User
) -> None:
    headers = auth(db, alice, clock)
    assert (await client.get(f"/v1/users/{bob.id}", headers=headers)).status_code == 403
    put = await client.put(f"/v1/users/{bob.id}", headers=headers, json={"company": "Evil"})
    assert put.status_code == 403
    assert put.json()["code"] == 7
    tos = await client.post("/v1/users/accept-tos", headers=headers, json={"userId": bob.id})
    assert tos.status_code == 403
    assert activity_count(db, "user.update") == 0


async def test_admin_acts_for_a_user(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, alice: User, admin: User
) -> None:
    headers = auth(db, admin, clock)
    assert (await client.get(f"/v1/users/{alice.id}", headers=headers)).json()["user"]["id"] == (
        alice.id
    )
    put = await client.put(f"/v1/users/{alice.id}", headers=headers, json={"displayName": "Al"})
    assert put.status_code == 200
    created = await client.post(
        "/v1/users/api-keys", headers=headers, json={"userId": alice.id, "name": "for alice"}
    )
    assert created.status_code == 200
    alice_keys = await client.get("/v1/users/api-keys", headers=auth(db, alice, clock))
    assert [k["name"] for k in alice_keys.json()["apiKeys"]] == ["for alice"]
    listed = await client.get("/v1/users/api-keys", headers=headers, params={"userId": alice.id})
    assert [k["name"] for k in listed.json()["apiKeys"]] == ["for alice"]
    key_id = created.json()["apiKey"]["id"]
    deleted = await client.delete(
        "/v1/users/api-keys", headers=headers, params={"apiKey": key_id, "userId": alice.id}
    )
    assert deleted.status_code == 200
    missing = await client.get("/v1/users/no-such-user", headers=headers)
    assert missing.status_code == 404


async def test_api_key_secret_is_shown_once(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, alice: User
) -> None:
    headers = auth(db, alice, clock)
    expires = (clock.now() + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    created = await client.post(
        "/v1/users/api-keys",
        headers=headers,
        json={"name": "laptop", "scopes": ["inference"], "expiresAt": expires},
    )
    assert created.status_code == 200
    key = created.json()["apiKey"]
    secret = key["key"]
    assert secret.startswith("tm_sk_")
    assert len(secret) > 40
    assert key["prefix"] == secret[:12]
    assert key["name"] == "laptop"
    assert key["scopes"] == ["inference"]
    assert key["expiresAt"] == "2026-01-31T12:00:00Z"

    listed = await client.get("/v1/users/api-keys", headers=headers)
    assert listed.status_code == 200
    assert secret not in listed.text
    (entry,) = ApiKeyList.model_validate(listed.json()).api_keys
    assert entry.id == key["id"]
    assert entry.key is None
    assert entry.prefix == key["prefix"]
    assert set(listed.json()["apiKeys"][0]) == {
        "id",
        "name",
        "scopes",
        "createdAt",
        "expiresAt",
        "prefix",
    }
    with db.session() as session:
        stored = json.dumps(
            [list(row) for row in session.execute(text("SELECT * FROM api_keys"))], default=str
        )
    assert secret not in stored
    assert activity_count(db, "api_key.create") == 1


async def test_api_key_create_validates(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, alice: User
) -> None:
    headers = auth(db, alice, clock)
    past = await client.post(
        "/v1/users/api-keys", headers=headers, json={"expiresAt": "2020-01-01T00:00:00Z"}
    )
    assert past.status_code == 400
    assert "future" in past.json()["message"]
    scopes = await client.post("/v1/users/api-keys", headers=headers, json={"scopes": "x"})
    assert scopes.status_code == 400
    assert activity_count(db, "api_key.create") == 0


async def test_delete_by_id_or_by_key_and_include_deleted(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, alice: User
) -> None:
    headers = auth(db, alice, clock)
    one = (await client.post("/v1/users/api-keys", headers=headers, json={"name": "one"})).json()
    two = (await client.post("/v1/users/api-keys", headers=headers, json={"name": "two"})).json()
    by_id = await client.delete(
        "/v1/users/api-keys", headers=headers, params={"apiKey": one["apiKey"]["id"]}
    )
    assert by_id.status_code == 200
    assert by_id.json() == {}
    by_key = await client.delete(
        "/v1/users/api-keys", headers=headers, params={"apiKey": two["apiKey"]["key"]}
    )
    assert by_key.status_code == 200
    live = await client.get("/v1/users/api-keys", headers=headers)
    assert live.json() == {"apiKeys": []}
    everything = await client.get(
        "/v1/users/api-keys", headers=headers, params={"includeDeleted": "true"}
    )
    keys = everything.json()["apiKeys"]
    assert {k["name"] for k in keys} == {"one", "two"}
    assert all("deletedAt" in k for k in keys)
    again = await client.delete(
        "/v1/users/api-keys", headers=headers, params={"apiKey": one["apiKey"]["id"]}
    )
    assert again.status_code == 200  # idempotent, no second activity
    assert activity_count(db, "api_key.delete") == 2
    unknown = await client.delete("/v1/users/api-keys", headers=headers, params={"apiKey": "x"})
    assert unknown.status_code == 404
    missing = await client.delete("/v1/users/api-keys", headers=headers)
    assert missing.status_code == 400


async def test_users_may_not_touch_each_others_keys(
    client: httpx2.AsyncClient, db: Database, clock: FakeClock, alice: User, bob: User
) -> None:
    bob_headers = auth(db, bob, clock)
    bobs = (await client.post("/v1/users/api-keys", headers=bob_headers, json={})).json()["apiKey"]
    headers = auth(db, alice, clock)
    read = await client.get("/v1/users/api-keys", headers=headers, params={"userId": bob.id})
    assert read.status_code == 403
    assert bobs["prefix"] not in read.text
    create = await client.post("/v1/users/api-keys", headers=headers, json={"userId": bob.id})
    assert create.status_code == 403
    delete = await client.delete(
        "/v1/users/api-keys", headers=headers, params={"apiKey": bobs["id"], "userId": bob.id}
    )
    assert delete.status_code == 403
    own_scope = await client.delete(
        "/v1/users/api-keys", headers=headers, params={"apiKey": bobs["id"]}
    )
    assert own_scope.status_code == 404  # not among alice's keys
    still = await client.get("/v1/users/api-keys", headers=bob_headers)
    assert [k["id"] for k in still.json()["apiKeys"]] == [bobs["id"]]


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        (None, "control-plane access token is needed"),
        ("Bearer tm_sk_0123456789abcdef", "inference API key was sent to the control plane"),
        ("Bearer tmrt_0123456789", "refresh token"),
        ("Bearer tmcp_forged", "Invalid control-plane access token"),
        ("Basic dXNlcjpwYXNz", "control-plane access token is needed"),
    ],
)
async def test_wrong_credentials_name_the_right_one(
    client: httpx2.AsyncClient, header: str | None, needle: str
) -> None:
    headers = {"authorization": header} if header else {}
    for method, path in (("GET", "/auth/profile"), ("GET", "/v1/users/api-keys")):
        reply = await client.request(method, path, headers=headers)
        assert reply.status_code == 401
        body = reply.json()
        assert body["code"] == 16
        assert needle in body["message"]
        assert body["details"] == []


async def test_errors_and_request_ids(client: httpx2.AsyncClient) -> None:
    echoed = await client.get("/nope", headers={"x-request-id": "req-abc"})
    assert echoed.status_code == 404
    assert echoed.headers["x-request-id"] == "req-abc"
    assert echoed.json() == {"code": 5, "message": "no route GET /nope", "details": []}
    wrong_method = await client.delete("/auth/profile")
    assert wrong_method.status_code == 405
    assert "not allowed" in wrong_method.json()["message"]
    assert wrong_method.headers["x-request-id"].startswith("req_")
    too_big = await client.post("/auth/cli/refresh", content=b"x" * (1024 * 1024 + 10))
    assert too_big.status_code == 413


async def test_openapi_document_lists_the_routes(client: httpx2.AsyncClient) -> None:
    reply = await client.get("/openapi.json")
    assert reply.status_code == 200
    doc = reply.json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]["/v1/users/api-keys"]) == {"get", "post", "delete"}
    assert doc["paths"]["/auth/cli/start"]["post"]["security"] == []
    schemas = doc["components"]["schemas"]
    assert "userEmail" in schemas["User"]["properties"]
    assert "apiKeys" in schemas["ApiKeyList"]["properties"]
    ref = doc["paths"]["/auth/profile"]["get"]["responses"]["200"]["content"]
    assert ref["application/json"]["schema"]["$ref"] == "#/components/schemas/UserReply"


async def test_unexpected_errors_are_a_500_in_the_cp_shape(
    client: httpx2.AsyncClient,
    db: Database,
    clock: FakeClock,
    alice: User,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api_keys, "list_keys", broken)
    reply = await client.get("/v1/users/api-keys", headers=auth(db, alice, clock))
    assert reply.status_code == 500
    assert reply.json() == {"code": 13, "message": "internal server error", "details": []}
    assert reply.headers["x-request-id"]
    assert "internal error on GET /v1/users/api-keys" in caplog.text
