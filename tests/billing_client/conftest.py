"""Helpers of the billing client tests: SDK clients over httpx2.MockTransport, and `tm` run with
click.testing against such a client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tensormesh import Tensormesh
from tensormesh_cli.main import cli
from tensormesh_cli.state import CliState
from tests.support import mock_sdk
from tests.support.mock_sdk import CP_BASE as CP_BASE
from tests.support.mock_sdk import MockSdk, clean_cli_env
from tests.support.mock_sdk import mode as mode

TOKEN = "tmcp_billing-test-token"
SDK = MockSdk(TOKEN)
sync_client = SDK.sync_client
run = SDK.run


class Recorder(mock_sdk.Recorder):
    """The shared recorder, its answers marked `rid-billing`."""

    request_id = "rid-billing"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment (empty config directory, a control-plane token in the environment)."""
    config_home = clean_cli_env(tmp_path, monkeypatch)
    monkeypatch.setenv("TENSORMESH_CONTROL_PLANE_TOKEN", TOKEN)
    return config_home


class Tm:
    """Runs `tm` in-process; every SDK client it creates talks to `recorder`."""

    def __init__(self, recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
        self.recorder = recorder
        self.clients = 0

        def new_client(state: CliState, control_plane_token: str | None) -> Tensormesh:
            assert control_plane_token == TOKEN
            self.clients += 1
            return sync_client(recorder, control_plane_token=control_plane_token)

        monkeypatch.setattr(CliState, "new_client", new_client)

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--controlplane-base", CP_BASE, *args], input=input)


@pytest.fixture
def make_tm(home: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Recorder], Tm]:
    return lambda recorder: Tm(recorder, monkeypatch)
