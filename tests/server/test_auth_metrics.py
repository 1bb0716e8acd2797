"""Key verification and the Prometheus rendering."""

from __future__ import annotations

import pytest

from tensormesh_server.auth import StaticKeyVerifier, authenticate, bearer_token
from tensormesh_server.errors import APIError
from tensormesh_server.metrics import Metrics
from tensormesh_server.tokens import (
    CONTROL_PLANE_TOKEN_PREFIX,
    INFERENCE_KEY_PREFIX,
    looks_like_control_plane_token,
    new_inference_key,
)


async def test_static_keys_are_checked_by_hash() -> None:
    verifier = StaticKeyVerifier(["one", "two"])
    assert await verifier.verify("two")
    assert not await verifier.verify("three")
    assert not await verifier.verify("")
    assert "one" not in repr(vars(verifier))


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


def test_token_prefixes() -> None:
    key = new_inference_key()
    assert key.startswith(INFERENCE_KEY_PREFIX)
    assert key != new_inference_key()
    assert looks_like_control_plane_token(CONTROL_PLANE_TOKEN_PREFIX + "x")
    assert not looks_like_control_plane_token(key)


async def test_authenticate_messages() -> None:
    verifier = StaticKeyVerifier(["good"])
    await authenticate(verifier, "Bearer good")
    with pytest.raises(APIError) as caught:
        await authenticate(verifier, "Bearer tmcp_abc")
    assert caught.value.status == 401
    assert "control-plane access token" in caught.value.message


def test_metrics_render() -> None:
    metrics = Metrics()
    metrics.started("m")
    metrics.finished("completions", "m", 200, 0.02)
    metrics.add_usage(
        "m",
        {"prompt_tokens": 4, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 1}},
    )
    metrics.record("completions", 'we"ird', 404, 0.001)
    text = metrics.render()
    assert 'tensormesh_requests_total{route="completions",model="m",status="200"} 1' in text
    assert 'model="we\\"ird"' in text
    assert 'tensormesh_tokens_total{model="m",kind="cached"} 1' in text
    assert (
        'tensormesh_request_duration_seconds_bucket{route="completions",model="m",le="0.01"} 0'
        in text
    )
    assert (
        'tensormesh_request_duration_seconds_bucket{route="completions",model="m",le="0.025"} 1'
        in text
    )
    assert 'tensormesh_request_duration_seconds_count{route="completions",model="m"} 1' in text
    assert text.endswith("\n")
