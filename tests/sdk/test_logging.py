"""TENSORMESH_LOG=debug logs requests through the "tensormesh" logger, secrets redacted."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tensormesh._logging import configure_logging, logger, redact_headers, redact_url

from .conftest import Recorder, reply, sync_client

SECRET = "tm-key-supersecret-123"


@pytest.fixture(autouse=True)
def _restore_logger() -> Iterator[None]:
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_redact_helpers() -> None:
    headers = redact_headers(
        [
            ("Authorization", f"Bearer {SECRET}"),
            ("x-api-key", SECRET),
            ("accept", "application/json"),
        ]
    )
    assert SECRET not in str(headers)
    assert headers["accept"] == "application/json"
    assert SECRET not in redact_url(f"http://h/p?api_key={SECRET}&x=1")
    assert redact_url(f"http://h/p?api_key={SECRET}&x=1").endswith("&x=1")


def test_debug_log_has_requests_but_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(reply(503), reply(200, json={"version": "1"}))
    debug = {"TENSORMESH_LOG": "debug"}
    with (
        caplog.at_level(logging.DEBUG, logger="tensormesh"),
        sync_client(recorder, inference_api_key=SECRET, env=debug) as c,
    ):
        c.inference.serverless.version.get()
        c.inference.serverless.request("GET", "/x", params={"token": SECRET})
    text = caplog.text
    assert "GET http://serverless.test/version attempt=1" in text
    assert "attempt=2" in text
    assert "retrying" in text
    assert "response 200" in text
    assert SECRET not in text
    assert "<redacted>" in text


def test_configure_logging_adds_one_handler() -> None:
    logger.handlers[:] = []
    configure_logging(None)
    assert logger.handlers == []
    configure_logging("debug")
    configure_logging("debug")
    assert len(logger.handlers) == 1
    assert logger.level == logging.DEBUG
