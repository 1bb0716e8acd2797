"""The Control Plane wire types as a server uses them: replies serialised with wire names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tensormesh.types.control_plane import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyList,
    ErrorBody,
    GrpcCode,
    User,
    UserRole,
    UserUpdate,
    format_timestamp,
    grpc_code_for_status,
)


def test_reply_serialises_with_camel_case_names_and_rfc3339_times() -> None:
    created = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2)))
    user = User(id="u", user_email="a@b.c", user_role=UserRole.SUPER_ADMIN, created_at=created)
    assert user.to_wire() == {
        "id": "u",
        "userEmail": "a@b.c",
        "userRole": "USER_ROLE_SUPER_ADMIN",
        "createdAt": "2026-03-04T03:06:07Z",
    }
    assert User.model_validate(user.to_wire()) == user


def test_naive_timestamps_are_utc() -> None:
    assert format_timestamp(datetime(2026, 1, 1, 0, 0, 0, 250000)) == "2026-01-01T00:00:00.250000Z"


def test_empty_lists_are_sent_and_missing_ones_read_as_empty() -> None:
    assert ApiKeyList().to_wire() == {"apiKeys": []}
    assert ApiKeyList.model_validate({}).api_keys == []
    assert ApiKey.model_validate({"id": "k"}).scopes == []


def test_request_bodies_accept_wire_or_python_names() -> None:
    assert UserUpdate.model_validate({"firstName": "A"}) == UserUpdate(first_name="A")
    body = ApiKeyCreate.model_validate({"name": "n", "expiresAt": "2027-01-01T00:00:00+01:00"})
    assert body.expires_at == datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)


def test_error_body_codes_follow_the_http_status() -> None:
    assert ErrorBody.for_status(404, "no such key").to_wire() == {
        "code": 5,
        "message": "no such key",
        "details": [],
    }
    assert grpc_code_for_status(401) is GrpcCode.UNAUTHENTICATED
    assert grpc_code_for_status(429) is GrpcCode.RESOURCE_EXHAUSTED
    assert grpc_code_for_status(502) is GrpcCode.INTERNAL
    assert grpc_code_for_status(418) is GrpcCode.UNKNOWN
