"""`client.control_plane.auth.cli`: start, exchange (202 pending / 200 tokens / errors), refresh."""

from __future__ import annotations

import pytest

import tensormesh
from tensormesh.types.control_plane import CliStart, TokenSet

from .conftest import Recorder, run

TOKENS = {
    "access_token": "tmcp_new",
    "refresh_token": "tmrt_new",
    "token_type": "Bearer",
    "expires_in": 3600,
}


async def test_start_needs_no_token_and_reads_snake_case(mode: str) -> None:
    start = {"auth_url": "http://cp/auth/cli/authorize?code=ABCD-EFGH", "cli_code": "ABCD-EFGH"}
    recorder = Recorder((200, {**start, "interval": 3}))
    result = await run(mode, recorder, lambda cp: cp.auth.cli.start(), control_plane_token=None)
    assert isinstance(result, CliStart)
    assert (result.cli_code, result.interval) == ("ABCD-EFGH", 3)
    assert recorder.last.method == "POST"
    assert recorder.last.url.path == "/auth/cli/start"
    assert "authorization" not in recorder.last.headers


async def test_exchange_is_none_while_pending_then_a_token_set(mode: str) -> None:
    recorder = Recorder((202, {}), (200, TOKENS))
    pending = await run(mode, recorder, lambda cp: cp.auth.cli.exchange(cli_code="ABCD-EFGH"))
    tokens = await run(mode, recorder, lambda cp: cp.auth.cli.exchange(cli_code="ABCD-EFGH"))
    assert pending is None
    assert isinstance(tokens, TokenSet)
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_in) == (
        "tmcp_new",
        "tmrt_new",
        3600,
    )
    assert recorder.body(0) == {"cli_code": "ABCD-EFGH"}
    assert "tmcp_new" not in repr(tokens)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (403, tensormesh.PermissionDeniedError),
        (404, tensormesh.NotFoundError),
        (400, tensormesh.BadRequestError),
        (429, tensormesh.RateLimitError),
    ],
)
async def test_exchange_errors(
    mode: str, status: int, error_type: type[tensormesh.APIStatusError]
) -> None:
    recorder = Recorder((status, {"code": 7, "message": "the login was denied", "details": []}))
    with pytest.raises(error_type):
        await run(mode, recorder, lambda cp: cp.auth.cli.exchange(cli_code="X"))
    assert len(recorder.requests) == 1  # POST: never retried automatically


async def test_exchange_200_without_tokens_is_a_protocol_error(mode: str) -> None:
    recorder = Recorder((200, {"status": "ok"}))
    with pytest.raises(tensormesh.ProtocolError, match="token set"):
        await run(mode, recorder, lambda cp: cp.auth.cli.exchange(cli_code="X"))


async def test_refresh_may_omit_the_refresh_token(mode: str) -> None:
    recorder = Recorder((200, {"access_token": "tmcp_2", "expires_in": 60}))
    tokens = await run(mode, recorder, lambda cp: cp.auth.cli.refresh(refresh_token="tmrt_1"))
    assert (tokens.access_token, tokens.refresh_token, tokens.token_type) == (
        "tmcp_2",
        None,
        "Bearer",
    )
    assert recorder.body() == {"refresh_token": "tmrt_1"}
    assert recorder.last.url.path == "/auth/cli/refresh"
