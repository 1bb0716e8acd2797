"""`client.control_plane.users` and `.users.api_keys` over a mock transport, sync and async:
camelCase on the wire, snake_case in Python, missing lists read as [], errors mapped."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import tensormesh
from tensormesh.types.control_plane import ApiKeyList, ApiKeyReply, Empty, UserReply, UserRole

from .conftest import CP_BASE, TOKEN, Recorder, run

USER = {
    "id": "u-1",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "displayName": "ada",
    "userEmail": "ada@example.com",
    "userRole": "USER_ROLE_ADMIN",
    "tosAcceptedAt": "2026-01-02T03:04:05Z",
    "createdAt": "2026-01-01T00:00:00.5Z",
    "favouriteColour": "teal",
}


async def test_get_auth_profile_reads_camel_case_and_keeps_unknown_fields(mode: str) -> None:
    recorder = Recorder((200, {"user": USER}))
    reply = await run(mode, recorder, lambda cp: cp.users.get_auth_profile())
    assert isinstance(reply, UserReply)
    user = reply.user
    assert (user.id, user.first_name, user.user_email) == ("u-1", "Ada", "ada@example.com")
    assert user.user_role is UserRole.ADMIN
    assert user.is_admin
    assert user.tos_accepted_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert user.model_extra == {"favouriteColour": "teal"}
    request = recorder.last
    assert (request.method, str(request.url)) == ("GET", f"{CP_BASE}/auth/profile")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_unknown_role_is_kept_as_text(mode: str) -> None:
    recorder = Recorder((200, {"user": {"id": "u", "userRole": "USER_ROLE_AUDITOR"}}))
    reply = await run(mode, recorder, lambda cp: cp.users.get_auth_profile())
    assert reply.user.user_role == "USER_ROLE_AUDITOR"
    assert not reply.user.is_admin


async def test_update_sends_only_given_fields_with_wire_names(mode: str) -> None:
    recorder = Recorder((200, {}))
    result = await run(
        mode, recorder, lambda cp: cp.users.update("u 1/x", first_name="Ada", display_name="A")
    )
    assert isinstance(result, Empty)
    assert recorder.last.method == "PUT"
    assert recorder.last.url.raw_path == b"/v1/users/u%201%2Fx"
    assert recorder.body() == {"firstName": "Ada", "displayName": "A"}


async def test_get_user_and_accept_tos(mode: str) -> None:
    recorder = Recorder((200, {"user": USER}), (200, {"user": USER}))
    got = await run(mode, recorder, lambda cp: cp.users.get("u-1"))
    accepted = await run(mode, recorder, lambda cp: cp.users.accept_tos())
    assert got.user.id == accepted.user.id == "u-1"
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("GET", "/v1/users/u-1"),
        ("POST", "/v1/users/accept-tos"),
    ]


async def test_list_api_keys_query_in_camel_case_and_missing_list_is_empty(mode: str) -> None:
    recorder = Recorder((200, {}))
    result = await run(
        mode, recorder, lambda cp: cp.users.api_keys.list(user_id="u-2", include_deleted=True)
    )
    assert isinstance(result, ApiKeyList)
    assert result.api_keys == []
    assert dict(recorder.last.url.params) == {"userId": "u-2", "includeDeleted": "true"}
    assert recorder.last.method == "GET"


async def test_list_api_keys_leaves_unset_filters_out(mode: str) -> None:
    keys = [{"id": "k1", "name": "ci", "prefix": "tm_sk_ab", "lastUsedAt": "2026-02-01T00:00:00Z"}]
    recorder = Recorder((200, {"apiKeys": keys}))
    result = await run(mode, recorder, lambda cp: cp.users.api_keys.list())
    assert recorder.last.url.query == b""
    (key,) = result.api_keys
    assert (key.id, key.prefix, key.scopes, key.key) == ("k1", "tm_sk_ab", [], None)
    assert key.last_used_at == datetime(2026, 2, 1, tzinfo=timezone.utc)


async def test_create_api_key_body_and_secret_not_in_repr(mode: str) -> None:
    reply_body = {"apiKey": {"id": "k9", "name": "ci", "key": "tm_sk_SECRET", "scopes": ["x"]}}
    recorder = Recorder((200, reply_body))
    expires = datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc)
    result = await run(
        mode,
        recorder,
        lambda cp: cp.users.api_keys.create(name="ci", scopes=["x"], expires_at=expires),
    )
    assert isinstance(result, ApiKeyReply)
    assert result.api_key.key == "tm_sk_SECRET"
    assert "tm_sk_SECRET" not in repr(result)
    assert recorder.body() == {"name": "ci", "scopes": ["x"], "expiresAt": "2027-01-01T12:00:00Z"}


async def test_create_api_key_rejects_a_bad_timestamp_before_sending(mode: str) -> None:
    recorder = Recorder((200, {}))
    with pytest.raises(tensormesh.TensormeshError, match="expires_at"):
        await run(mode, recorder, lambda cp: cp.users.api_keys.create(expires_at="next tuesday"))
    assert recorder.requests == []


async def test_delete_api_key_by_key_or_id_in_the_query(mode: str) -> None:
    recorder = Recorder((200, {}))
    await run(mode, recorder, lambda cp: cp.users.api_keys.delete(api_key="k1", user_id="u-3"))
    assert recorder.last.method == "DELETE"
    assert dict(recorder.last.url.params) == {"apiKey": "k1", "userId": "u-3"}
    assert recorder.last.content == b""


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, tensormesh.BadRequestError),
        (401, tensormesh.AuthenticationError),
        (403, tensormesh.PermissionDeniedError),
        (404, tensormesh.NotFoundError),
        (409, tensormesh.ConflictError),
        (500, tensormesh.InternalServerError),
    ],
)
async def test_protobuf_error_bodies_map_to_sdk_errors(
    mode: str, status: int, error_type: type[tensormesh.APIStatusError]
) -> None:
    body = {"code": 7, "message": "you may not read this user's keys", "details": []}
    recorder = Recorder((status, body))
    with pytest.raises(error_type) as caught:
        await run(mode, recorder, lambda cp: cp.users.api_keys.list(user_id="other"))
    error = caught.value
    assert error.status_code == status
    assert error.code == 7
    assert error.body == body
    assert error.request_id == "rid-cp"
    assert "you may not read this user's keys" in str(error)


async def test_missing_token_fails_before_any_request(mode: str) -> None:
    recorder = Recorder((200, {"user": USER}))
    with pytest.raises(tensormesh.MissingCredentialError, match="tm auth login"):
        await run(mode, recorder, lambda cp: cp.users.get_auth_profile(), control_plane_token=None)
    assert recorder.requests == []


async def test_raw_response_of_a_control_plane_method(mode: str) -> None:
    recorder = Recorder((200, {"user": USER}))
    raw = await run(mode, recorder, lambda cp: cp.users.with_raw_response.get_auth_profile())
    assert raw.status_code == 200
    assert raw.json()["user"]["userEmail"] == "ada@example.com"
    assert raw.parse().user.display_name == "ada"
