"""`tm auth login`'s polling: every `interval` seconds, slower on 429 (Retry-After), a clear
error when denied, expired or out of time."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tensormesh import Tensormesh
from tensormesh.types.control_plane import CliStart
from tensormesh_cli.commands.auth import wait_for_approval
from tensormesh_cli.errors import EXIT_AUTH, EXIT_ERROR, CliError

TOKENS = {"access_token": "tmcp_x", "refresh_token": "tmrt_x", "expires_in": 3600}
START = CliStart(auth_url="http://cp.test/auth/cli/authorize?code=ABCD-EFGH", cli_code="ABCD-EFGH")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def poll(answers: list[tuple[int, Any, dict[str, str]]], max_wait: float = 600) -> Any:
    """Run wait_for_approval against exchange replies given in order; return (result, time)."""
    requests: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        status, body, headers = answers.pop(0) if len(answers) > 1 else answers[0]
        return httpx2.Response(status, json=body, headers=headers)

    fake = FakeTime()
    client = Tensormesh(
        control_plane_base_url="http://cp.test",
        env={},
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    with client:
        start = START.model_copy(update={"interval": 2})
        try:
            result: Any = wait_for_approval(
                client.control_plane.auth.cli,
                start,
                max_wait,
                clock=fake.clock,
                sleep=fake.sleep,
            )
        except CliError as exc:
            result = exc
    return result, fake, requests


PENDING = (202, {}, {})


def test_polls_every_interval_until_approved() -> None:
    tokens, fake, requests = poll([PENDING, PENDING, (200, TOKENS, {})])
    assert tokens.access_token == "tmcp_x"
    assert fake.sleeps == [2, 2, 2]
    assert len(requests) == 3
    assert all(r.url.path == "/auth/cli/exchange" for r in requests)


def test_slows_down_on_429_honouring_retry_after() -> None:
    limited = (429, {"code": 8, "message": "slow down"}, {"retry-after": "7"})
    tokens, fake, _ = poll([limited, PENDING, (200, TOKENS, {})])
    assert tokens.refresh_token == "tmrt_x"
    assert fake.sleeps == [2, 7, 7]


def test_denied_is_a_clear_auth_error() -> None:
    error, _, requests = poll([PENDING, (403, {"code": 7, "message": "denied"}, {})])
    assert isinstance(error, CliError)
    assert error.exit_code == EXIT_AUTH
    assert "denied in the browser" in error.format_message()
    assert len(requests) == 2


@pytest.mark.parametrize("status", [400, 404])
def test_expired_or_used_code(status: int) -> None:
    error, _, _ = poll([(status, {"code": 5, "message": "unknown or expired code"}, {})])
    assert error.exit_code == EXIT_AUTH
    assert "expired or was already used" in error.format_message()
    assert "tm auth login" in error.format_message()


def test_gives_up_after_max_wait() -> None:
    error, fake, requests = poll([PENDING], max_wait=5)
    assert error.exit_code == EXIT_ERROR
    assert "not approved within 5 s" in error.format_message()
    assert sum(fake.sleeps) == pytest.approx(5)
    assert len(requests) == 3  # at 2 s, 4 s and 5 s
