"""Helpers of the Control Plane client tests: SDK clients over httpx2.MockTransport."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support import mock_sdk
from tests.support.mock_sdk import CP_BASE as CP_BASE
from tests.support.mock_sdk import MockSdk
from tests.support.mock_sdk import mode as mode
from tests.support.postgres import postgres_server

TOKEN = "tmcp_test-access-token"
SDK = MockSdk(TOKEN)
run = SDK.run


class Recorder(mock_sdk.Recorder):
    """The shared recorder, its answers marked `rid-cp`."""

    request_id = "rid-cp"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (its URL), dropped afterwards. Skips the test when the test
    server cannot be reached, unless TENSORMESH_TEST_POSTGRES_REQUIRED=1."""
    with postgres_server() as server:
        yield server.create()
