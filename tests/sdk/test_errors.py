"""HTTP errors map to the exception classes, with one-line messages and the request id."""

from __future__ import annotations

import httpx2
import pytest

import tensormesh
from tensormesh import APIStatusError, MissingCredentialError, ProtocolError
from tensormesh._exceptions import make_status_error, status_error_class

from .conftest import Recorder, async_client, reply, sync_client


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, tensormesh.BadRequestError),
        (401, tensormesh.AuthenticationError),
        (402, tensormesh.APIStatusError),
        (403, tensormesh.PermissionDeniedError),
        (404, tensormesh.NotFoundError),
        (409, tensormesh.ConflictError),
        (422, tensormesh.UnprocessableEntityError),
        (429, tensormesh.RateLimitError),
        (500, tensormesh.InternalServerError),
        (503, tensormesh.InternalServerError),
        (418, tensormesh.APIStatusError),
    ],
)
def test_status_classes(status: int, cls: type[APIStatusError]) -> None:
    assert status_error_class(status) is cls
    assert issubclass(cls, tensormesh.APIError)
    assert issubclass(cls, tensormesh.TensormeshError)


def test_hierarchy() -> None:
    assert issubclass(tensormesh.APITimeoutError, tensormesh.APIConnectionError)
    for cls in (tensormesh.ProtocolError, tensormesh.StreamError, tensormesh.APIConnectionError):
        assert issubclass(cls, tensormesh.APIError)
    assert issubclass(tensormesh.ConfigurationError, tensormesh.TensormeshError)
    assert not issubclass(tensormesh.ConfigurationError, tensormesh.APIError)


def test_openai_error_body() -> None:
    body = b'{"error": {"message": "The model `x` does not exist.\\nSee GET /v1/models", '
    body += b'"type": "not_found_error", "param": "model", "code": "model_not_found"}}'
    error = make_status_error(404, body, request_id="req-1")
    assert isinstance(error, tensormesh.NotFoundError)
    assert error.message.startswith("The model `x` does not exist.")
    assert (error.type, error.param, error.code) == ("not_found_error", "model", "model_not_found")
    assert str(error) == (
        "404 Not Found: The model `x` does not exist. See GET /v1/models (request id: req-1)"
    )


def test_protobuf_error_body() -> None:
    error = make_status_error(
        409, b'{"code": 6, "message": "already exists", "details": []}', request_id=None
    )
    assert isinstance(error, tensormesh.ConflictError)
    assert error.code == 6
    assert str(error) == "409 Conflict: already exists"


def test_non_json_and_empty_bodies() -> None:
    assert str(make_status_error(502, b"<html>bad gateway</html>", request_id="r")) == (
        "502 Bad Gateway: <html>bad gateway</html> (request id: r)"
    )
    assert str(make_status_error(503, b"", request_id=None)) == "503 Service Unavailable"


def test_health_503_keeps_the_json_body() -> None:
    recorder = Recorder(reply(503, json={"status": "no engine can serve"}))
    with sync_client(recorder) as client, pytest.raises(tensormesh.InternalServerError) as info:
        client.inference.serverless.health.get()
    assert info.value.body == {"status": "no engine can serve"}
    assert "no engine can serve" in str(info.value)


def test_request_id_comes_from_the_response_else_the_request() -> None:
    echo = Recorder(reply(400, headers={"x-request-id": "server-id"}, json={"error": "bad"}))
    with sync_client(echo) as client, pytest.raises(tensormesh.BadRequestError) as info:
        client.inference.serverless.detokenize.create(model="m", tokens=[1])
    assert info.value.request_id == "server-id"
    assert info.value.response is not None
    assert info.value.response.status_code == 400

    silent = Recorder(reply(400, json={"error": "bad"}))
    with sync_client(silent) as client, pytest.raises(tensormesh.BadRequestError) as info:
        client.inference.serverless.detokenize.create(
            model="m", tokens=[1], extra_headers={"X-Request-ID": "mine"}
        )
    assert info.value.request_id == "mine"
    assert silent.requests[0].headers["x-request-id"] == "mine"


def test_invalid_json_on_200_is_a_protocol_error() -> None:
    recorder = Recorder(reply(200, content=b"{not json"))
    with sync_client(recorder) as client, pytest.raises(ProtocolError, match="not valid JSON"):
        client.inference.serverless.version.get()


def test_wrong_shape_on_200_is_a_protocol_error() -> None:
    recorder = Recorder(reply(200, json={"data": [{"object": "model"}]}))  # no id
    with sync_client(recorder) as client, pytest.raises(ProtocolError, match="expected shape"):
        client.inference.serverless.models.list()


def test_missing_inference_key_names_argument_and_variable() -> None:
    recorder = Recorder(reply(200, json={}))
    with sync_client(recorder, inference_api_key=None, control_plane_token="cp") as client:
        with pytest.raises(MissingCredentialError) as info:
            client.inference.serverless.chat.completions.create(model="m", messages=[])
        # GET routes need no key
        client.inference.serverless.version.get()
    message = str(info.value)
    assert "inference_api_key" in message
    assert "TENSORMESH_INFERENCE_API_KEY" in message
    assert "control-plane token" in message
    assert len(recorder.requests) == 1
    assert "authorization" not in recorder.requests[0].headers


async def test_control_plane_request_uses_token_and_maps_protobuf_errors() -> None:
    recorder = Recorder(
        reply(200, json={"user": {"id": "u1"}}),
        reply(403, json={"code": 7, "message": "admins only", "details": []}),
    )
    async with async_client(recorder, control_plane_token="cp-token") as client:
        profile = await client.control_plane.request("GET", "/auth/profile")
        assert profile == {"user": {"id": "u1"}}
        with pytest.raises(tensormesh.PermissionDeniedError, match="admins only"):
            await client.control_plane.request("POST", "v1/admin/users", json={"a": 1})
    first, second = recorder.requests
    assert str(first.url) == "http://cp.test/auth/profile"
    assert first.headers["authorization"] == "Bearer cp-token"
    assert second.url.path == "/v1/admin/users"


def test_unexpected_transport_failure_is_never_raw() -> None:
    def broken(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.RemoteProtocolError("peer closed", request=request)

    with sync_client(Recorder(broken)) as client, pytest.raises(tensormesh.APIConnectionError):
        client.inference.serverless.request("POST", "/tokenize", json={})
