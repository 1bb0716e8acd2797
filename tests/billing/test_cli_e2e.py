"""Every `tm billing`, `tm admin billing` and `tm cost` command against a real server (text
and JSON), with known usage behind the numbers; and the `tm cost` screenshot for the README."""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from tensormesh.types.money import Money
from tensormesh_cli.main import cli
from tensormesh_server.store.billing_models import BillingTransaction, RequestRecord
from tensormesh_server.store.database import Database
from tests.support.browser import chromium
from tests.support.servers import RunningServer, running_server

from .e2e import (
    FAKE_MODEL,
    Customer,
    admin_headers,
    customer,
    database_for,
    fake_upstream,
    price_model,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
README_SCREENSHOT = REPO / "docs" / "images" / "tm-cost.png"
PRICES = {"inputTokenPrice": "0.15", "outputTokenPrice": "0.6", "cachedTokenPrice": "0.075"}
CHATS, COMPLETIONS = 3, 2  # alice's known usage: the fake upstream reports 5 + 5 tokens each


@dataclass
class Platform:
    server: RunningServer
    db: Database
    admin: dict[str, str]
    alice: Customer
    bob: Customer
    tmp: Path

    def token(self, email: str) -> str:
        from tensormesh_server.controlplane.services import users
        from tests.controlplane.helpers import access_token

        with self.db.session() as session:
            user = users.find_by_email(session, email)
            assert user is not None
        return access_token(self.db, user, datetime.now(timezone.utc))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("billing-cli")
    url = database_for(str(request.param), tmp, request)
    env = {"TENSORMESH_DATABASE_URL": url, "TENSORMESH_METERING_FLUSH_SECONDS": "0.2"}
    with fake_upstream(chunk_delay=0) as upstream:
        args = ["--no-embedded", "--upstream", f"{FAKE_MODEL}={upstream}"]
        with running_server(tmp, args=args, env=env) as server:
            db = Database(url)
            try:
                admin = admin_headers(db)
                price_model(server.controlplane_url, admin, FAKE_MODEL, **PRICES)
                alice = customer(db, "alice@example.com", keys=1, credit="10")
                bob = customer(db, "bob@example.com", keys=1, credit=None)
                key = next(iter(alice.keys.values()))
                headers = {"authorization": f"Bearer {key}"}
                for n in range(CHATS + COMPLETIONS):
                    path, body = (
                        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
                        if n < CHATS
                        else ("/v1/completions", {"prompt": "hi"})
                    )
                    answer = httpx2.post(
                        server.serverless_url + path,
                        json={"model": FAKE_MODEL, **body},
                        headers=headers,
                    )
                    assert answer.status_code == 200, answer.text
                wait_for_records(db, CHATS + COMPLETIONS)
                yield Platform(server, db, admin, alice, bob, tmp)
            finally:
                db.dispose()


def wait_for_records(db: Database, count: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with db.session() as session:
            written = session.scalar(select(func.count()).select_from(RequestRecord)) or 0
            charges = session.scalar(
                select(func.count())
                .select_from(BillingTransaction)
                .where(BillingTransaction.type == "TRANSACTION_TYPE_CHARGE")
            )
        if written >= count and charges:
            return
        time.sleep(0.1)
    raise AssertionError(f"the {count} request records were not written")


def tm(platform: Platform, email: str | None, *args: str, stdin: str | None = None) -> Result:
    """`tm` in process against the platform's control plane, signed in as `email`."""
    token = platform.token(email) if email else "tmcp_nothing"
    env = {
        "TM_CONFIG_HOME": str(platform.tmp / "tm-config"),
        "TENSORMESH_CONTROL_PLANE_BASE_URL": platform.server.controlplane_url,
        "TENSORMESH_CONTROL_PLANE_TOKEN": token,
        "NO_COLOR": "1",
    }
    return CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)


def tm_json(platform: Platform, email: str | None, *args: str) -> Any:
    result = tm(platform, email, "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def money(data: dict[str, Any]) -> Decimal:
    return Money.model_validate(data).to_decimal()


def charged(platform: Platform, user_id: str) -> Decimal:
    with platform.db.session() as session:
        total = session.scalar(
            select(func.sum(BillingTransaction.amount_nanos)).where(
                BillingTransaction.user_id == user_id,
                BillingTransaction.type == "TRANSACTION_TYPE_CHARGE",
            )
        )
    return Money.from_nanos(-int(total or 0)).to_decimal()


# The fake upstream's usage: 5 prompt and 5 completion tokens per request, none cached.
KNOWN_SPEND = (CHATS + COMPLETIONS) * (5 * Decimal("0.15") + 5 * Decimal("0.6")) / 10**6


def test_billing_balance_transactions_and_spending(platform: Platform) -> None:
    alice = platform.alice.email
    assert charged(platform, platform.alice.id) == KNOWN_SPEND
    balance = tm_json(platform, alice, "billing", "balance")
    assert money(balance["balance"]) == Decimal(10) - KNOWN_SPEND
    text = tm(platform, alice, "billing", "balance")
    assert text.exit_code == 0
    assert f"{Decimal(10) - KNOWN_SPEND}" in text.stdout

    listed = tm_json(platform, alice, "billing", "transactions", "list")
    kinds = [t["type"] for t in listed["transactions"]]
    assert kinds[-1] == "TRANSACTION_TYPE_CREDIT"
    assert "TRANSACTION_TYPE_CHARGE" in kinds
    charges = [money(t["amount"]) for t in listed["transactions"] if "CHARGE" in t["type"]]
    assert -sum(charges) == KNOWN_SPEND
    text = tm(platform, alice, "billing", "transactions", "list")
    assert "TRANSACTION_TYPE_CREDIT" in text.stdout or "CREDIT" in text.stdout

    summary = tm_json(platform, alice, "billing", "spending", "summary")
    assert {key: money(value) for key, value in summary.items()} == dict.fromkeys(
        ("spend_24h", "spend_7d", "spend_30d"), KNOWN_SPEND
    )
    history = tm_json(platform, alice, "billing", "spending", "history")
    (bucket,) = history["buckets"]
    assert money(bucket["amount"]) == KNOWN_SPEND
    assert tm(platform, alice, "billing", "spending", "history").exit_code == 0
    assert tm(platform, alice, "billing", "spending", "summary").exit_code == 0


def test_transactions_pages_empty_one_and_several(platform: Platform) -> None:
    bob = platform.bob.email
    empty = tm(platform, bob, "billing", "transactions", "list")
    assert empty.exit_code == 0
    assert "(no transactions)" in empty.stdout
    assert tm_json(platform, bob, "billing", "transactions", "list")["transactions"] == []
    for amount in ("1", "2", "3", "4", "5"):
        added = tm(
            platform,
            "admin@localhost",
            "admin",
            "billing",
            "balances",
            "add",
            platform.bob.id,
            amount,
            "--yes",
        )
        assert added.exit_code == 0, added.output
    one = tm_json(platform, bob, "billing", "transactions", "list", "--page-size", "10")
    assert len(one["transactions"]) == 5
    assert one["next_page_token"] == ""
    first = tm(platform, bob, "billing", "transactions", "list", "--page-size", "2")
    assert first.exit_code == 0
    assert "More: --page-token" in first.stderr
    page = tm_json(platform, bob, "billing", "transactions", "list", "--page-size", "2")
    assert len(page["transactions"]) == 2
    assert page["next_page_token"]
    second = tm_json(
        platform,
        bob,
        "billing",
        "transactions",
        "list",
        "--page-size",
        "2",
        "--page-token",
        page["next_page_token"],
    )
    assert len(second["transactions"]) == 2
    everything = tm_json(
        platform, bob, "billing", "transactions", "list", "--page-size", "2", "--all"
    )
    amounts = [money(t["amount"]) for t in everything["transactions"]]
    assert amounts == [Decimal(5), Decimal(4), Decimal(3), Decimal(2), Decimal(1)]
    assert money(tm_json(platform, bob, "billing", "balance")["balance"]) == 15


def test_pricing_and_address(platform: Platform) -> None:
    alice = platform.alice.email
    listed = tm_json(platform, alice, "billing", "pricing", "serverless", "list")
    by_model = {p["model"]: p for p in listed["pricing"]}
    assert money(by_model[FAKE_MODEL]["input_token_price"]) == Decimal("0.15")
    assert "SmolLM2-135M-Instruct" in by_model  # the seed price of the embedded model
    text = tm(platform, alice, "billing", "pricing", "serverless", "list", "--active-only")
    assert text.exit_code == 0
    assert FAKE_MODEL in text.stdout
    assert tm_json(platform, alice, "billing", "address", "get") == {}
    updated = tm(
        platform,
        alice,
        "billing",
        "address",
        "update",
        "--city",
        "Paris",
        "--line1",
        "1 rue de la Paix",
        "--country",
        "FR",
    )
    assert updated.exit_code == 0, updated.output
    got = tm_json(platform, alice, "billing", "address", "get")
    assert got == {"city": "Paris", "line1": "1 rue de la Paix", "country": "FR"}
    assert "Paris" in tm(platform, alice, "billing", "address", "get").stdout


def test_admin_billing_commands(platform: Platform) -> None:
    admin = "admin@localhost"
    ids = (platform.alice.id, platform.bob.id)
    balances = tm_json(platform, admin, "admin", "billing", "balances", "get", *ids)
    got = {b["user_id"]: money(b["balance"]) for b in balances["balances"]}
    assert got[platform.alice.id] == Decimal(10) - KNOWN_SPEND
    text = tm(platform, admin, "admin", "billing", "balances", "get", platform.alice.id)
    assert text.exit_code == 0
    assert platform.alice.id in text.stdout

    before = got[platform.bob.id]
    refused = tm(platform, admin, "admin", "billing", "balances", "add", platform.bob.id, "1")
    assert refused.exit_code == 2  # money moves only after a confirmation (--yes off a TTY)
    for bad in ("-5", "abc", "0", "1.0000000001"):
        result = tm(
            platform, admin, "admin", "billing", "balances", "add", platform.bob.id, bad, "--yes"
        )
        assert result.exit_code in (1, 2), (bad, result.output)
        assert "Traceback" not in result.output
    now = tm_json(platform, admin, "admin", "billing", "balances", "get", platform.bob.id)
    assert money(now["balances"][0]["balance"]) == before

    spending = tm_json(platform, admin, "admin", "billing", "spending", "summary", *ids)
    alice_spend = next(s for s in spending["summaries"] if s["user_id"] == platform.alice.id)
    assert money(alice_spend["spend_30d"]) == KNOWN_SPEND
    assert tm(platform, admin, "admin", "billing", "spending", "summary", *ids).exit_code == 0

    prices = tm_json(platform, admin, "admin", "billing", "pricing", "serverless", "list")
    assert {p["model"] for p in prices["pricing"]} >= {FAKE_MODEL}
    made = tm(
        platform,
        admin,
        "--output",
        "json",
        "admin",
        "billing",
        "pricing",
        "serverless",
        "upsert",
        "--model",
        FAKE_MODEL,
        "--name",
        "renamed",
        "--yes",
    )
    assert made.exit_code == 0, made.output
    entry = json.loads(made.stdout)["pricing"][0]
    assert entry["name"] == "renamed"
    assert money(entry["input_token_price"]) == Decimal("0.15")
    unknown = tm(
        platform,
        admin,
        "admin",
        "billing",
        "pricing",
        "serverless",
        "upsert",
        "--model",
        "no-such-model",
        "--input-price",
        "1",
        "--output-price",
        "1",
        "--yes",
    )
    assert unknown.exit_code == 1
    assert "unknown model" in unknown.output
    denied = tm(platform, platform.alice.email, "admin", "billing", "pricing", "serverless", "list")
    assert denied.exit_code == 1
    assert "admin" in denied.output.lower()
    seeded = "SmolLM2-135M-Instruct"  # the embedded model's seed price (not served here)
    changed = tm(
        platform,
        admin,
        "--output",
        "json",
        "admin",
        "billing",
        "pricing",
        "serverless",
        "upsert",
        "--model",
        seeded,
        "--input-price",
        "0.03",
        "--inactive",
        "--yes",
    )
    assert changed.exit_code == 0, changed.output
    entry = json.loads(changed.stdout)["pricing"][0]
    assert entry["is_active"] is False
    assert money(entry["input_token_price"]) == Decimal("0.03")
    gone = tm(
        platform, admin, "admin", "billing", "pricing", "serverless", "delete", entry["id"], "--yes"
    )
    assert gone.exit_code == 0, gone.output
    left = tm_json(
        platform, admin, "admin", "billing", "pricing", "serverless", "list", "--model", seeded
    )
    assert left.get("pricing", []) == []
    again = tm(
        platform, admin, "admin", "billing", "pricing", "serverless", "delete", entry["id"], "--yes"
    )
    assert again.exit_code == 1
    assert "Traceback" not in again.output


def test_tm_cost_matches_the_known_usage(platform: Platform, artifacts_dir: Path) -> None:
    alice = platform.alice.email
    data = tm_json(platform, alice, "cost", "--window", "24h")
    (model,) = data["models"]
    assert model["model"] == FAKE_MODEL
    assert model["requests"] == CHATS + COMPLETIONS
    assert model["input_tokens"] == model["output_tokens"] == 5 * (CHATS + COMPLETIONS)
    assert model["cached_tokens"] == 0
    assert Decimal(model["spend"]) == KNOWN_SPEND == Decimal(data["total"]["spend"])
    assert Decimal(data["daily"][-1]["spend"]) == KNOWN_SPEND
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    for args in (("--month", month), ("--start", "2d"), ()):
        again = tm_json(platform, alice, "cost", *args)
        assert Decimal(again["total"]["spend"]) == KNOWN_SPEND, args
    empty = tm_json(platform, platform.bob.email, "cost", "--window", "7d")
    assert empty["models"] == []
    assert Decimal(empty["total"]["spend"]) == 0
    text = tm(platform, alice, "cost", "--window", "7d")
    assert text.exit_code == 0, text.output
    assert FAKE_MODEL in text.stdout
    assert f"{KNOWN_SPEND}" in text.stdout
    assert "Daily spend" in text.stdout
    bad = tm(platform, alice, "cost", "--month", "2026-13")
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output
    if platform.server.controlplane_url and "postgresql" not in platform.db.url:
        screenshot(text.stdout, artifacts_dir)


def screenshot(output: str, artifacts_dir: Path) -> None:
    """`tm cost` as a terminal picture: rich's SVG export, rendered to PNG by Chromium."""
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=100, force_terminal=True, color_system="truecolor")
    console.print("$ tm cost --window 7d", style="bold")
    for line in output.splitlines():
        console.print(Text(line, style="green" if "█" in line else ""))
    svg = console.export_svg(title="tm cost")
    svg_path = artifacts_dir / "tm-cost.svg"
    svg_path.write_text(svg)
    png_path = artifacts_dir / "tm-cost.png"
    with chromium() as browser:
        box = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', svg)
        assert box is not None
        width, height = (math.ceil(float(value)) for value in box.groups())
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_content(f'<body style="margin:0">{svg}</body>')
        page.screenshot(path=str(png_path))
    assert png_path.stat().st_size > 10_000
    if not README_SCREENSHOT.exists() or os.environ.get("TM_UPDATE_DOCS_IMAGES") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        README_SCREENSHOT.write_bytes(png_path.read_bytes())
