"""The login page in a real browser (Debian's Chromium, headless, through Playwright): sign in,
approve, deny; screenshots saved as test artifacts; nothing loaded from the network."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn

from tensormesh_server.controlplane.app import create_app
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.store.database import Database
from tests.support.browser import CHROMIUM, chromium
from tests.support.servers import free_port

from .helpers import PASSWORD, FakeClock, make_user

pytestmark = pytest.mark.slow


@pytest.fixture
def cp_url(cp: ControlPlaneContext) -> Iterator[str]:
    """The Control Plane app served by uvicorn on a free loopback port."""
    port = free_port()
    config = uvicorn.Config(
        create_app(cp), host="127.0.0.1", port=port, log_level="error", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_sign_in_and_decide_in_chromium(
    cp_url: str, db: Database, clock: FakeClock, artifacts_dir: Path, decision: str
) -> None:
    make_user(db, "ada@example.com", now=clock.now())
    start = httpx2.post(cp_url + "/auth/cli/start").json()
    code = start["cli_code"]
    requests: list[str] = []
    backend = db.engine.dialect.name
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 640, "height": 640})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(start["auth_url"])
        assert page.inner_text("#cli-code") == code
        page.screenshot(path=str(artifacts_dir / f"login-sign-in-{backend}.png"))
        page.fill("#email", "ada@example.com")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector(f"#{decision}")
        assert page.inner_text("#user-email") == "ada@example.com"
        assert page.inner_text("#cli-code") == code
        page.screenshot(path=str(artifacts_dir / f"login-approve-{backend}.png"))
        page.click(f"#{decision}")
        page.wait_for_selector("#message")
        page.screenshot(path=str(artifacts_dir / f"login-{decision}d-{backend}.png"))
        message = page.inner_text("#message")
    assert ("Approved" if decision == "approve" else "Denied") in message
    exchange = httpx2.post(cp_url + "/auth/cli/exchange", json={"cli_code": code})
    assert exchange.status_code == (200 if decision == "approve" else 403)
    assert requests
    assert all(url.startswith(cp_url) for url in requests), requests
