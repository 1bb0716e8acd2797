"""402 `insufficient_quota` once a user's balance is used up (within the balance cache's
refresh), back to 200 after a credit; static operator keys are never refused; the operator
switch turns enforcement off; `tm server billing credit` grants credit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tensormesh_server.store.database import Database
from tests.support.servers import RunningServer, running_server

from .e2e import FAKE_MODEL, admin_headers, customer, fake_upstream, price_model

pytestmark = pytest.mark.slow

CHAT = {"model": FAKE_MODEL, "messages": [{"role": "user", "content": "hi"}]}


def chat(server: RunningServer, key: str) -> httpx2.Response:
    return httpx2.post(
        server.serverless_url + "/v1/chat/completions",
        json=CHAT,
        headers={"authorization": f"Bearer {key}"},
    )


def until_refused(server: RunningServer, key: str, seconds: float = 15) -> list[int]:
    statuses: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses.append(chat(server, key).status_code)
        if statuses[-1] != 200:
            return statuses
        time.sleep(0.05)
    return statuses


def test_no_balance_means_402_until_credit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'quota.db'}"
    env = {"TENSORMESH_DATABASE_URL": url, "TENSORMESH_METERING_FLUSH_SECONDS": "0.2"}
    with fake_upstream(chunk_delay=0) as upstream:
        args = ["--no-embedded", "--upstream", f"{FAKE_MODEL}={upstream}"]
        with running_server(tmp_path, args=args, env=env) as server:
            db = Database(url)
            try:
                # 5 + 5 tokens at 1 USD per 1M tokens each: 10 micro-USD per request.
                admin = admin_headers(db)
                price_model(
                    server.controlplane_url,
                    admin,
                    FAKE_MODEL,
                    inputTokenPrice="1",
                    outputTokenPrice="1",
                )
                broke = customer(db, "broke@example.com", keys=1, credit=None)
                (broke_key,) = broke.keys.values()
                refused = chat(server, broke_key)
                assert refused.status_code == 402
                error = refused.json()["error"]
                assert error["type"] == error["code"] == "insufficient_quota"
                assert "balance" in error["message"]
                assert refused.headers["x-request-id"]

                thrifty = customer(db, "thrifty@example.com", keys=1, credit="0.00003")
                (key,) = thrifty.keys.values()
                statuses = until_refused(server, key)
                assert statuses[0] == 200, statuses
                assert statuses[-1] == 402, statuses
                assert 3 <= statuses.count(200) <= 30, statuses  # ~3 requests + <=1 s of lag

                assert chat(server, server.api_key).status_code == 200  # static key: no user

                env_cli = {**os.environ, "TENSORMESH_DATABASE_URL": url}
                credit = subprocess.run(
                    [sys.executable, "-m", "tensormesh_cli", "server", "billing", "credit",
                     "thrifty@example.com", "1.5"],
                    capture_output=True, text=True, env=env_cli, timeout=60,
                )  # fmt: skip
                assert credit.returncode == 0, credit.stderr
                assert "credited 1.50 USD to thrifty@example.com" in credit.stderr
                for bad in (
                    ("nobody@example.com", "1"),
                    ("thrifty@example.com", "-1"),
                    ("thrifty@example.com", "lots"),
                ):
                    failed = subprocess.run(
                        [sys.executable, "-m", "tensormesh_cli", "server", "billing", "credit",
                         *bad],
                        capture_output=True, text=True, env=env_cli, timeout=60,
                    )  # fmt: skip
                    assert failed.returncode in (1, 2), bad
                    assert "Traceback" not in failed.stderr
                    assert "error" in failed.stderr.lower()
                deadline = time.monotonic() + 5
                while chat(server, key).status_code != 200:
                    assert time.monotonic() < deadline, "the credit was not seen within 5 s"
                    time.sleep(0.1)
            finally:
                db.dispose()


def test_enforcement_can_be_switched_off(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'free.db'}"
    env = {"TENSORMESH_DATABASE_URL": url, "TENSORMESH_BILLING_ENFORCE": "0"}
    with fake_upstream(chunk_delay=0) as upstream:
        args = ["--no-embedded", "--upstream", f"{FAKE_MODEL}={upstream}"]
        with running_server(tmp_path, args=args, env=env) as server:
            db = Database(url)
            try:
                (key,) = customer(db, "free@example.com", keys=1, credit=None).keys.values()
                assert [chat(server, key).status_code for _ in range(3)] == [200] * 3
            finally:
                db.dispose()
