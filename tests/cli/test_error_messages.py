"""SDK errors become one line and the right exit code, naming the credential or URL to fix."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

import tensormesh
from tensormesh_cli.error_messages import connection_reason, describe
from tensormesh_cli.errors import EXIT_AUTH, EXIT_ERROR
from tensormesh_cli.state import CliState

SERVERLESS = "http://127.0.0.1:9"
CONTROLPLANE = "http://127.0.0.1:8"


def _state(environ: dict[str, str]) -> CliState:
    return CliState(
        flags={"serverless_base": SERVERLESS, "controlplane_base": CONTROLPLANE},
        output="text",
        quiet=False,
        debug=False,
        config_path=Path("/nowhere/config.toml"),  # missing: an empty config
        environ=environ,
    )


def _refused() -> tensormesh.APIConnectionError:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as os_error:
            raise httpx2.ConnectError("All connection attempts failed") from os_error
    except httpx2.ConnectError as transport_error:
        error = tensormesh.APIConnectionError("GET /v1/models failed: connect error")
        error.__cause__ = transport_error
        return error


def _status(cls: type[tensormesh.APIStatusError], code: int, url: str, message: str) -> Exception:
    response = httpx2.Response(code, request=httpx2.Request("POST", url))
    return cls(message, status_code=code, request_id="req-1", response=response)


def test_connection_refused_names_the_url() -> None:
    error = describe(_refused(), _state({}))
    assert error.exit_code == EXIT_ERROR
    assert error.format_message() == (
        f"cannot reach the serverless API at {SERVERLESS}: connection refused"
    )
    assert connection_reason(_refused()) == "connection refused"


def test_timeout_names_the_limit() -> None:
    error = describe(tensormesh.APITimeoutError("read timed out"), _state({}))
    assert "did not answer within 60 s" in error.format_message()
    assert "--timeout" in error.format_message()


def test_rejected_key_exits_4_and_names_where_the_key_came_from() -> None:
    state = _state({"TENSORMESH_INFERENCE_API_KEY": "tm-wrong-key-000000"})
    rejected = _status(
        tensormesh.AuthenticationError, 401, SERVERLESS + "/v1/chat/completions", "Invalid key"
    )
    error = describe(rejected, state)
    assert error.exit_code == EXIT_AUTH
    message = error.format_message()
    assert "from TENSORMESH_INFERENCE_API_KEY" in message
    assert "[overrides]" in message
    assert "tm-wrong-key-000000" not in message


def test_rejected_control_plane_token_says_which_credential() -> None:
    rejected = _status(tensormesh.AuthenticationError, 401, CONTROLPLANE + "/auth/profile", "no")
    message = describe(rejected, _state({})).format_message()
    assert "TENSORMESH_CONTROL_PLANE_TOKEN" in message


def test_missing_credential_exits_4() -> None:
    missing = tensormesh.MissingCredentialError("an inference API key is needed")
    assert describe(missing, _state({})).exit_code == EXIT_AUTH


def test_other_api_errors_keep_the_sdk_line() -> None:
    bad = _status(tensormesh.BadRequestError, 400, SERVERLESS + "/v1/chat/completions", "bad n")
    error = describe(bad, _state({}))
    assert error.exit_code == EXIT_ERROR
    assert error.format_message() == str(bad)


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_errors_point_at_debug(debug: bool) -> None:
    state = _state({})
    state.debug = debug
    message = describe(ValueError("odd"), state).format_message()
    assert message.startswith("unexpected ValueError: odd")
    assert ("--debug" in message) is not debug
