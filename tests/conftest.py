"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import RunningServer, running_server

EMBEDDED_MODEL = "SmolLM2-135M-Instruct"


def pytest_configure(config: pytest.Config) -> None:
    """Started in the background (`cmd &` in a script), pytest inherits an ignored SIGINT, and
    so would every `tm` the tests start: Python then installs no KeyboardInterrupt handler, and
    the tests of Ctrl-C would hang. Restore it, as a terminal would have it."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real server (embedded model, default settings) shared by the end-to-end tests."""
    with running_server(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under `scripts/test.sh` (TENSORMESH_TEST_REQUIRE_ALL=1) a skipped test is a failure:
    PostgreSQL, Redis and Chromium are on every machine, so a skip would hide a broken case."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and os.environ.get("TENSORMESH_TEST_REQUIRE_ALL") == "1":
        report.outcome = "failed"
        report.longrepr = (
            f"skipped, but scripts/test.sh requires every test to run: {report.longrepr}"
        )
