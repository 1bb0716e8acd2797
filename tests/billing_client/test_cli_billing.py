"""`tm billing` and `tm admin billing` with click.testing against an SDK whose transport is
mocked: the requests they make, text and json output, usage errors, confirmation prompts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from tensormesh_cli import billing_support

from .conftest import Recorder, Tm

USD = {"currencyCode": "USD"}
PRICING = {
    "id": "p1",
    "model": "SmolLM2-135M-Instruct",
    "inputTokenPrice": {**USD, "units": "0", "nanos": 100_000_000},
    "outputTokenPrice": {**USD, "units": "0", "nanos": 400_000_000},
    "cachedTokenPrice": {**USD, "units": "0", "nanos": 25_000_000},
    "isActive": True,
}
MakeTm = Callable[[Recorder], Tm]


def test_balance_text_and_json(make_tm: MakeTm) -> None:
    recorder = Recorder((200, {"balance": {**USD, "units": "12", "nanos": 500_000_000}}))
    tm = make_tm(recorder)
    result = tm("billing", "balance")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "12.50 USD\n"
    assert recorder.last.url.path == "/v1/billing/balance"
    as_json = tm("--output", "json", "billing", "balance", "--user-id", "u2")
    assert json.loads(as_json.stdout)["balance"]["units"] == "12"
    assert recorder.last.url.params["userId"] == "u2"


def ledger(request: httpx2.Request) -> tuple[int, Any]:
    """Three transactions in pages of two."""
    token = request.url.params.get("pageToken") or "0"
    items = [
        {
            "transactionId": f"t{n}",
            "createdAt": f"2026-11-0{n + 1}T00:00:00Z",
            "amount": {**USD, "units": str(10 * (n + 1))},
            "type": "TRANSACTION_TYPE_CREDIT",
            "description": f"credit {n}",
        }
        for n in range(3)
    ]
    start = int(token)
    return 200, {
        "transactions": items[start : start + 2],
        "nextPageToken": "2" if start == 0 else "",
    }


def test_transactions_list_one_page(make_tm: MakeTm) -> None:
    recorder = Recorder(route=ledger)
    result = make_tm(recorder)("billing", "transactions", "list", "--page-size", "2")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "TYPE", "AMOUNT", "STATUS", "DESCRIPTION"]
    assert lines[1].split()[:5] == ["t0", "2026-11-01T00:00:00Z", "CREDIT", "10.00", "USD"]
    assert len(lines) == 3
    assert "--page-token 2" in result.stderr
    assert dict(recorder.last.url.params) == {"pageSize": "2"}


def test_transactions_list_all_pages_as_json(make_tm: MakeTm) -> None:
    recorder = Recorder(route=ledger)
    result = make_tm(recorder)("-o", "json", "billing", "transactions", "list", "--all")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [t["transaction_id"] for t in data["transactions"]] == ["t0", "t1", "t2"]
    assert len(recorder.requests) == 2


def test_transactions_list_refuses_token_with_all(make_tm: MakeTm) -> None:
    recorder = Recorder((200, {}))
    result = make_tm(recorder)("billing", "transactions", "list", "--all", "--page-token", "x")
    assert result.exit_code == 2
    assert recorder.requests == []


def test_spending_summary_and_history(make_tm: MakeTm) -> None:
    summary = {"spend24h": {**USD, "nanos": 5}, "spend7d": {**USD, "units": "2"}}
    history = {
        "buckets": [
            {
                "bucketStart": "2026-11-20T00:00:00Z",
                "amount": {**USD, "units": "1"},
                "costSaving": {**USD, "nanos": 250_000_000},
            }
        ]
    }
    recorder = Recorder((200, summary), (200, history))
    tm = make_tm(recorder)
    result = tm("billing", "spending", "summary")
    assert result.stdout.splitlines() == [
        "last 24 hours: 0.000000005 USD",
        "last 7 days: 2.00 USD",
        "last 30 days: 0.00 USD",
    ]
    result = tm("billing", "spending", "history")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].split() == [
        "2026-11-20T00:00:00Z",
        "1.00",
        "USD",
        "0.25",
        "USD",
    ]
    assert recorder.last.url.path == "/v1/billing/spending/history"


def test_pricing_list(make_tm: MakeTm) -> None:
    recorder = Recorder((200, {"pricing": [PRICING]}))
    tm = make_tm(recorder)
    result = tm("billing", "pricing", "serverless", "list", "--model", "m", "--active-only")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[:6] == [
        "SmolLM2-135M-Instruct",
        "0.10",
        "0.40",
        "0.025",
        "USD",
        "yes",
    ]
    assert dict(recorder.last.url.params) == {"model": "m", "activeOnly": "true"}
    as_json = tm("-o", "json", "billing", "pricing", "serverless", "list")
    assert json.loads(as_json.stdout)["pricing"][0]["id"] == "p1"


def test_address_get_and_update(make_tm: MakeTm) -> None:
    current = {"address": {"line1": "1 Main St", "city": "Paris"}}
    updated = {"address": {"line1": "1 Main St", "city": "Lyon"}}
    recorder = Recorder((200, current), (200, {}), (200, updated))
    tm = make_tm(recorder)
    result = tm("billing", "address", "update", "--city", "Lyon")
    assert result.exit_code == 0, result.stderr
    put = recorder.requests[1]
    assert put.method == "PUT"
    assert json.loads(put.content) == {"address": {"line1": "1 Main St", "city": "Lyon"}}
    assert "city: Lyon" in result.stdout
    nothing = tm("billing", "address", "update")
    assert nothing.exit_code == 2
    assert "nothing to change" in nothing.stderr
    assert len(recorder.requests) == 3


def test_errors_are_one_line_with_an_exit_code(make_tm: MakeTm) -> None:
    recorder = Recorder((403, {"code": 7, "message": "admins only", "details": []}))
    result = make_tm(recorder)("admin", "billing", "balances", "get", "u1")
    assert result.exit_code == 1
    assert "admins only" in result.stderr
    assert "Traceback" not in result.output


def test_admin_balances_get(make_tm: MakeTm) -> None:
    body = {"balances": [{"userId": "u1", "balance": {**USD, "units": "3"}}, {"userId": "u2"}]}
    recorder = Recorder((200, body))
    result = make_tm(recorder)("admin", "billing", "balances", "get", "u1", "u2")
    assert result.exit_code == 0, result.stderr
    assert json.loads(recorder.last.content) == {"targetUserIds": ["u1", "u2"]}
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows == [["u1", "3.00", "USD"], ["u2", "0.00", "USD"]]


@pytest.mark.parametrize(
    ("amount", "wire"),
    [
        ("12.50", {**USD, "units": "12", "nanos": 500_000_000}),
        ("12.5 USD", {**USD, "units": "12", "nanos": 500_000_000}),
        ("0.000000001", {**USD, "units": "0", "nanos": 1}),
    ],
)
def test_admin_balances_add_with_yes(make_tm: MakeTm, amount: str, wire: dict[str, Any]) -> None:
    recorder = Recorder((200, {"balance": {**USD, "units": "20"}}))
    result = make_tm(recorder)("admin", "billing", "balances", "add", "u1", amount, "--yes")
    assert result.exit_code == 0, result.stderr
    assert json.loads(recorder.last.content) == {"targetUserId": "u1", "amount": wire}
    assert recorder.last.url.path == "/v1/admin/billing/balances:add"
    assert result.stdout == "balance: 20.00 USD\n"


@pytest.mark.parametrize("amount", ["-5", "abc", "0", "1.0000000001", "12,50", "5 dollars"])
def test_admin_balances_add_refuses_bad_amounts_before_any_request(
    make_tm: MakeTm, amount: str
) -> None:
    recorder = Recorder((200, {}))
    result = make_tm(recorder)("admin", "billing", "balances", "add", "--yes", "u1", "--", amount)
    assert result.exit_code == 2, result.output
    assert "AMOUNT" in result.stderr
    assert recorder.requests == []


def test_money_moving_without_a_terminal_needs_yes(make_tm: MakeTm) -> None:
    recorder = Recorder((200, {}))
    tm = make_tm(recorder)
    for args in (
        ("admin", "billing", "balances", "add", "u1", "5"),
        ("admin", "billing", "pricing", "serverless", "delete", "p1"),
        ("admin", "billing", "pricing", "serverless", "upsert", "--model", "m"),
    ):
        result = tm(*args)
        assert result.exit_code == 2, args
        assert "--yes" in result.stderr
    assert recorder.requests == []


@pytest.mark.parametrize(("answer", "exit_code", "requests"), [("y\n", 0, 1), ("n\n", 1, 0)])
def test_money_moving_on_a_terminal_asks(
    make_tm: MakeTm,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    exit_code: int,
    requests: int,
) -> None:
    monkeypatch.setattr(billing_support, "interactive", lambda: True)
    recorder = Recorder((200, {"balance": {**USD, "units": "5"}}))
    result = make_tm(recorder)("admin", "billing", "balances", "add", "u1", "5", input=answer)
    assert "Add 5.00 USD to the balance of user u1?" in result.stderr
    assert result.exit_code == exit_code, result.output
    assert len(recorder.requests) == requests


def test_admin_spending_summary(make_tm: MakeTm) -> None:
    body = {"summaries": [{"userId": "u1", "spend30d": {**USD, "units": "7"}}]}
    recorder = Recorder((200, body))
    result = make_tm(recorder)("admin", "billing", "spending", "summary", "u1")
    assert result.exit_code == 0, result.stderr
    assert json.loads(recorder.last.content) == {"targetUserIds": ["u1"]}
    assert result.stdout.splitlines()[1].split() == [
        "u1",
        "0.00",
        "USD",
        "0.00",
        "USD",
        "7.00",
        "USD",
    ]


def pricing_admin(existing: list[dict[str, Any]]) -> Callable[[httpx2.Request], tuple[int, Any]]:
    def route(request: httpx2.Request) -> tuple[int, Any]:
        if request.method == "GET":
            return 200, {"pricing": existing}
        sent = json.loads(request.content)["pricing"]
        return 200, {"pricing": {"id": sent.get("id", "new-id"), **sent}}

    return route


def test_pricing_upsert_creates_from_flags(make_tm: MakeTm) -> None:
    recorder = Recorder(route=pricing_admin([]))
    result = make_tm(recorder)(
        "admin", "billing", "pricing", "serverless", "upsert",
        "--model", "m", "--input-price", "0.10", "--output-price", "0.4 USD",
        "--cached-price", "0", "--active", "--yes",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    get, post = recorder.requests
    assert get.url.params["model"] == "m"
    assert post.method == "POST"
    assert json.loads(post.content) == {
        "pricing": {
            "model": "m",
            "isActive": True,
            "inputTokenPrice": {**USD, "units": "0", "nanos": 100_000_000},
            "outputTokenPrice": {**USD, "units": "0", "nanos": 400_000_000},
            "cachedTokenPrice": {**USD, "units": "0", "nanos": 0},
        }
    }
    assert "Created the prices of m" in result.stderr


def test_pricing_upsert_updates_the_models_entry_from_json(make_tm: MakeTm) -> None:
    recorder = Recorder(route=pricing_admin([PRICING]))
    body = json.dumps({"pricing": {**PRICING, "id": None, "isActive": None}})
    result = make_tm(recorder)(
        "admin", "billing", "pricing", "serverless", "upsert", "--json", "-",
        "--output-price", "0.5", "--yes", input=body,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    put = recorder.requests[-1]
    assert put.method == "PUT"
    sent = json.loads(put.content)["pricing"]
    assert sent["id"] == "p1"
    assert sent["outputTokenPrice"]["nanos"] == 500_000_000
    assert sent["inputTokenPrice"] == PRICING["inputTokenPrice"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--input-price", "0.1"), "needs a model"),
        (("--model", "m", "--input-price", "-1"), "--input-price"),
        (("--model", "m", "--output-price", "cheap"), "--output-price"),
        (("--json", "{not json"), "not valid JSON"),
        (("--json", '{"model": "m", "inputTokenPrice": {"nanos": 1000000000}}'), "invalid"),
        (("--json", "[1]"), "JSON object"),
        (("--json", '{"model": "m", "inputTokenPrice": {"units": "-1"}}'), "0 or more"),
    ],
)
def test_pricing_upsert_bad_input_is_a_usage_error(
    make_tm: MakeTm, args: tuple[str, ...], message: str
) -> None:
    recorder = Recorder((200, {}))
    result = make_tm(recorder)(
        "admin", "billing", "pricing", "serverless", "upsert", *args, "--yes"
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert recorder.requests == []


def test_pricing_delete_and_list(make_tm: MakeTm) -> None:
    recorder = Recorder((200, {}), (200, {"pricing": [PRICING]}))
    tm = make_tm(recorder)
    result = tm("admin", "billing", "pricing", "serverless", "delete", "p1", "--yes")
    assert result.exit_code == 0, result.stderr
    assert recorder.last.method == "DELETE"
    assert dict(recorder.last.url.params) == {"id": "p1"}
    listed = tm("admin", "billing", "pricing", "serverless", "list")
    assert "SmolLM2-135M-Instruct" in listed.stdout
    assert recorder.last.url.path == "/v1/admin/billing/serverless-pricing"


def test_help_lists_the_billing_groups() -> None:
    from click.testing import CliRunner

    from tensormesh_cli.main import cli

    result = CliRunner().invoke(cli, ["--help"])
    for name in ("admin", "billing", "cost"):
        assert f"  {name} " in result.stdout
