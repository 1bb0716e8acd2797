"""The retry policy of API.md §3 (pure functions) and its use by the transport."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx2
import pytest

from tensormesh import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
)
from tensormesh._retry import RetryPolicy, backoff_delay, parse_retry_after

from .conftest import Recorder, async_client, reply, sync_client

POLICY = RetryPolicy(max_retries=2, initial_backoff=0.5, max_backoff=8.0, max_retry_after=60.0)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "get"])
def test_idempotent_methods_are_retried(method: str) -> None:
    assert POLICY.delay_after_status(method, 0, 503, {}) is not None


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_other_methods_are_never_retried(method: str) -> None:
    assert POLICY.delay_after_status(method, 0, 503, {}) is None
    assert POLICY.delay_after_status(method, 0, 429, {"retry-after": "0"}) is None
    assert POLICY.delay_after_error(method, 0, retryable=True) is None


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert POLICY.delay_after_status("GET", 0, status, {}) is not None


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 422, 501, 505])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert POLICY.delay_after_status("GET", 0, status, {}) is None


def test_retries_stop_at_max_retries() -> None:
    assert POLICY.delay_after_status("GET", 1, 503, {}) is not None
    assert POLICY.delay_after_status("GET", 2, 503, {}) is None
    assert RetryPolicy(max_retries=0).delay_after_error("GET", 0, retryable=True) is None


def test_errors_that_a_retry_cannot_fix_are_not_retried() -> None:
    assert POLICY.delay_after_error("GET", 0, retryable=False) is None
    assert POLICY.delay_after_error("GET", 0, retryable=True) is not None


def test_retry_after_seconds_is_honoured_and_capped() -> None:
    assert POLICY.delay_after_status("GET", 0, 429, {"retry-after": "3"}) == 3.0
    assert POLICY.delay_after_status("GET", 0, 429, {"retry-after": "0"}) == 0.0
    assert POLICY.delay_after_status("GET", 0, 503, {"retry-after": "3600"}) == 60.0


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(30.0)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


def test_retry_after_http_date_is_capped_by_the_policy() -> None:
    far = format_datetime(datetime.now(timezone.utc) + timedelta(hours=2), usegmt=True)
    assert POLICY.delay_after_status("GET", 0, 503, {"retry-after": far}) == 60.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "Mon, 99 Foo 2026"])
def test_unusable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_unusable_retry_after_falls_back_to_backoff() -> None:
    delay = POLICY.delay_after_status("GET", 0, 503, {"retry-after": "soon"})
    assert delay is not None
    assert 0.5 * 0.75 <= delay <= 0.5


@pytest.mark.parametrize("retries_done", [0, 1, 2, 3, 10])
def test_backoff_is_exponential_with_bounded_jitter(retries_done: int) -> None:
    base = min(8.0, 0.5 * 2**retries_done)
    low = backoff_delay(retries_done, initial=0.5, maximum=8.0, jitter=0.25, rand=lambda: 1.0)
    high = backoff_delay(retries_done, initial=0.5, maximum=8.0, jitter=0.25, rand=lambda: 0.0)
    assert low == pytest.approx(base * 0.75)
    assert high == pytest.approx(base)
    for _ in range(50):
        assert base * 0.75 <= POLICY.backoff(retries_done) <= base


def test_transport_retries_get_then_raises_mapped_error() -> None:
    recorder = Recorder(reply(503, json={"error": {"message": "busy"}}))
    with sync_client(recorder) as client, pytest.raises(InternalServerError) as info:
        client.inference.serverless.models.list()
    assert len(recorder.requests) == 3
    assert info.value.status_code == 503
    # one request id for all attempts of a call
    assert len({r.headers["x-request-id"] for r in recorder.requests}) == 1


def test_transport_returns_the_success_after_a_retry() -> None:
    recorder = Recorder(reply(503), reply(200, json={"object": "list", "data": []}))
    with sync_client(recorder) as client:
        assert client.inference.serverless.models.list().data == []
    assert len(recorder.requests) == 2


def test_post_is_not_retried() -> None:
    recorder = Recorder(reply(429, headers={"retry-after": "0"}, json={"error": {"message": "x"}}))
    with sync_client(recorder) as client, pytest.raises(RateLimitError):
        client.inference.serverless.tokenize.create(model="m", prompt="hi")
    assert len(recorder.requests) == 1


def test_connection_errors_are_retried_for_get_only() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    recorder = Recorder(refuse)
    with sync_client(recorder) as client:
        with pytest.raises(APIConnectionError, match="connection refused"):
            client.inference.serverless.health.get()
        assert len(recorder.requests) == 3
        with pytest.raises(APIConnectionError):
            client.inference.serverless.request("POST", "/v1/anything", json={})
        assert len(recorder.requests) == 4


async def test_async_timeouts_are_retried_and_mapped() -> None:
    def slow(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    recorder = Recorder(slow)
    async with async_client(recorder) as client:
        with pytest.raises(APITimeoutError):
            await client.inference.serverless.version.get()
    assert len(recorder.requests) == 3


def test_max_retries_from_config_sets_the_policy() -> None:
    recorder = Recorder(reply(502))
    client = sync_client(recorder, max_retries=0)
    client._transport.retry_policy = RetryPolicy(max_retries=client.config.max_retries)
    with client, pytest.raises(InternalServerError):
        client.inference.serverless.version.get()
    assert len(recorder.requests) == 1
