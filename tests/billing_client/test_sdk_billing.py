"""Every `control_plane.billing` and `control_plane.admin.billing` method: the request it sends
(method, path, camelCase query or body) and the typed reply it returns, sync and async."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from tensormesh import ProtocolError, TensormeshError
from tensormesh.types import Money
from tensormesh.types.billing import (
    BillingAddress,
    ServerlessPricing,
    TransactionType,
    UsageBucket,
)

from .conftest import CP_BASE, TOKEN, Recorder, run

USD_12_50 = {"currencyCode": "USD", "units": "12", "nanos": 500_000_000}
PRICING = {
    "id": "p1",
    "name": "Smol",
    "model": "SmolLM2-135M-Instruct",
    "inputTokenPrice": {"currencyCode": "USD", "units": "0", "nanos": 100_000_000},
    "outputTokenPrice": {"currencyCode": "USD", "units": "0", "nanos": 400_000_000},
    "cachedTokenPrice": {"currencyCode": "USD", "units": "0", "nanos": 25_000_000},
    "isActive": True,
}


def check_request(
    recorder: Recorder, method: str, path: str, query: dict[str, str] | None = None
) -> None:
    request = recorder.last
    assert request.method == method
    assert request.url.path == path
    assert str(request.url).startswith(CP_BASE)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert recorder.query() == (query or {})


async def test_balance_get(mode: str) -> None:
    recorder = Recorder((200, {"balance": USD_12_50}))
    reply = await run(mode, recorder, lambda cp: cp.billing.balance.get(user_id="u2"))
    check_request(recorder, "GET", "/v1/billing/balance", {"userId": "u2"})
    assert reply.balance.to_decimal() == Decimal("12.5")
    await run(mode, recorder, lambda cp: cp.billing.balance.get())
    check_request(recorder, "GET", "/v1/billing/balance")


async def test_transactions_list(mode: str) -> None:
    body = {
        "transactions": [
            {
                "transactionId": "t1",
                "createdAt": "2026-11-20T10:00:00Z",
                "amount": {"currencyCode": "USD", "units": "-1", "nanos": -500_000_000},
                "type": "TRANSACTION_TYPE_CHARGE",
                "status": "completed",
                "details": {
                    "models": {
                        "m1": {
                            "name": "m1",
                            "eventCount": "3",
                            "inputTokens": "1200",
                            "outputTokens": "300",
                            "cachedTokens": "100",
                            "totalAmount": {"units": "-1", "nanos": -500_000_000},
                        }
                    }
                },
            },
            {"transactionId": "t2", "type": "TRANSACTION_TYPE_SOMETHING_NEW"},
        ],
        "nextPageToken": "tok-2",
    }
    recorder = Recorder((200, body))
    page = await run(
        mode,
        recorder,
        lambda cp: cp.billing.transactions.list(page_size=2, page_token="tok-1", user_id="u1"),
    )
    check_request(
        recorder,
        "GET",
        "/v1/billing/transactions",
        {"pageSize": "2", "pageToken": "tok-1", "userId": "u1"},
    )
    first, second = page.transactions
    assert first.type is TransactionType.CHARGE
    assert first.amount.to_decimal() == Decimal("-1.5")
    assert first.created_at == datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    usage = first.details.models["m1"]
    assert (usage.event_count, usage.input_tokens, usage.cached_tokens) == (3, 1200, 100)
    assert second.type == "TRANSACTION_TYPE_SOMETHING_NEW"
    assert page.next_page_token == "tok-2"


def transaction_pages(request: httpx2.Request) -> tuple[int, Any]:
    """Five transactions in pages of two; the token is the next index."""
    start = int(request.url.params.get("pageToken") or 0)
    size = int(request.url.params["pageSize"])
    ids = [f"t{n}" for n in range(start, min(start + size, 5))]
    token = str(start + size) if start + size < 5 else ""
    return 200, {"transactions": [{"transactionId": i} for i in ids], "nextPageToken": token}


async def test_transactions_auto_paging_iter(mode: str) -> None:
    recorder = Recorder(route=transaction_pages)
    if mode == "sync":
        ids = await run(
            mode,
            recorder,
            lambda cp: [
                t.transaction_id
                for t in cp.billing.transactions.auto_paging_iter(page_size=2, user_id="u1")
            ],
        )
    else:

        async def collect(cp: Any) -> list[str]:
            pager = cp.billing.transactions.auto_paging_iter(page_size=2, user_id="u1")
            return [t.transaction_id async for t in pager]

        ids = await run(mode, recorder, collect)
    assert ids == ["t0", "t1", "t2", "t3", "t4"]
    queries = [dict(request.url.params) for request in recorder.requests]
    assert queries == [
        {"pageSize": "2", "userId": "u1"},
        {"pageSize": "2", "userId": "u1", "pageToken": "2"},
        {"pageSize": "2", "userId": "u1", "pageToken": "4"},
    ]


async def test_transactions_auto_paging_iter_of_an_empty_ledger(mode: str) -> None:
    recorder = Recorder((200, {}))
    if mode == "sync":
        items = await run(
            mode, recorder, lambda cp: list(cp.billing.transactions.auto_paging_iter())
        )
    else:

        async def collect(cp: Any) -> list[Any]:
            return [t async for t in cp.billing.transactions.auto_paging_iter()]

        items = await run(mode, recorder, collect)
    assert items == []
    assert len(recorder.requests) == 1


async def test_spending_summary(mode: str) -> None:
    body = {
        "spend24h": USD_12_50,
        "spend7d": {"units": "20"},
        "spend30d": {"currencyCode": "USD", "units": "31", "nanos": 1},
    }
    recorder = Recorder((200, body))
    reply = await run(mode, recorder, lambda cp: cp.billing.spending.summary(user_id="u1"))
    check_request(recorder, "GET", "/v1/billing/spending/summary", {"userId": "u1"})
    assert reply.spend_24h.to_decimal() == Decimal("12.5")
    assert reply.spend_7d.to_decimal() == 20
    assert reply.spend_30d.to_decimal() == Decimal("31.000000001")
    assert reply.to_wire()["spend30d"] == body["spend30d"]


async def test_spending_history(mode: str) -> None:
    body = {
        "buckets": [
            {"bucketStart": "2026-11-20T00:00:00Z", "amount": USD_12_50, "costSaving": {"nanos": 5}}
        ]
    }
    recorder = Recorder((200, body))
    reply = await run(mode, recorder, lambda cp: cp.billing.spending.history())
    check_request(recorder, "GET", "/v1/billing/spending/history")
    (bucket,) = reply.buckets
    assert bucket.amount.to_decimal() == Decimal("12.5")
    assert bucket.cost_saving.to_nanos() == 5


@pytest.mark.parametrize("bucket", ["day", "DAY", "USAGE_BUCKET_DAY", UsageBucket.DAY])
async def test_usage_history_with_datetimes(mode: str, bucket: Any) -> None:
    body = {
        "rows": [
            {
                "bucketStart": "2026-11-20T00:00:00Z",
                "modelId": "m1",
                "inputTokens": "1000",
                "outputTokens": "50",
                "cachedTokens": "10",
                "requestCount": "4",
            }
        ]
    }
    recorder = Recorder((200, body))
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    end = datetime(2026, 11, 2, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    reply = await run(
        mode,
        recorder,
        lambda cp: cp.billing.spending.usage_history(
            bucket=bucket, start_time=start, end_time=end, user_id="u1"
        ),
    )
    check_request(
        recorder,
        "GET",
        "/v1/billing/serverless-usage/history",
        {
            "bucket": "USAGE_BUCKET_DAY",
            "startTime": "2026-11-01T00:00:00Z",
            "endTime": "2026-11-02T10:30:00Z",
            "userId": "u1",
        },
    )
    (row,) = reply.rows
    assert (row.model_id, row.input_tokens, row.output_tokens) == ("m1", 1000, 50)
    assert (row.cached_tokens, row.request_count) == (10, 4)
    assert row.to_wire()["inputTokens"] == "1000"


async def test_usage_history_with_strings(mode: str) -> None:
    recorder = Recorder((200, {}))
    reply = await run(
        mode,
        recorder,
        lambda cp: cp.billing.spending.usage_history(
            bucket="month", start_time="2026-01-01T00:00:00Z", end_time="2026-02-01T00:00:00Z"
        ),
    )
    assert recorder.query() == {
        "bucket": "USAGE_BUCKET_MONTH",
        "startTime": "2026-01-01T00:00:00Z",
        "endTime": "2026-02-01T00:00:00Z",
    }
    assert reply.rows == []


async def test_usage_history_refuses_an_unknown_bucket(mode: str) -> None:
    recorder = Recorder((200, {}))
    with pytest.raises(TensormeshError, match="day, week or month"):
        await run(mode, recorder, lambda cp: cp.billing.spending.usage_history(bucket="hour"))
    assert recorder.requests == []


async def test_pricing_serverless_list(mode: str) -> None:
    recorder = Recorder((200, {"pricing": [PRICING]}))
    reply = await run(
        mode,
        recorder,
        lambda cp: cp.billing.pricing.serverless.list(
            model="SmolLM2-135M-Instruct", active_only=True
        ),
    )
    check_request(
        recorder,
        "GET",
        "/v1/billing/serverless-pricing",
        {"model": "SmolLM2-135M-Instruct", "activeOnly": "true"},
    )
    (price,) = reply.pricing
    assert price.input_token_price.to_decimal() == Decimal("0.1")
    assert price.is_active is True
    assert price.to_wire() == PRICING


async def test_address_get(mode: str) -> None:
    address = {"line1": "1 Main St", "postalCode": "94000", "country": "US"}
    recorder = Recorder((200, {"address": address}))
    reply = await run(mode, recorder, lambda cp: cp.billing.address.get())
    check_request(recorder, "GET", "/v1/billing/address")
    assert reply.address.postal_code == "94000"
    empty = await run(mode, Recorder((200, {})), lambda cp: cp.billing.address.get())
    assert empty.address == BillingAddress()


async def test_address_update_merges_fields_over_the_address(mode: str) -> None:
    recorder = Recorder((200, {}))
    current = BillingAddress(line1="1 Main St", city="Paris", postal_code="75001")
    await run(
        mode,
        recorder,
        lambda cp: cp.billing.address.update(current, city="Lyon", postal_code=None, user_id="u1"),
    )
    check_request(recorder, "PUT", "/v1/billing/address")
    assert recorder.body() == {
        "userId": "u1",
        "address": {"line1": "1 Main St", "city": "Lyon", "postalCode": "75001"},
    }
    await run(mode, recorder, lambda cp: cp.billing.address.update(name="Ada", country="FR"))
    assert recorder.body() == {"address": {"name": "Ada", "country": "FR"}}


async def test_admin_balances_get(mode: str) -> None:
    body = {"balances": [{"userId": "u1", "balance": USD_12_50}, {"userId": "u2"}]}
    recorder = Recorder((200, body))
    reply = await run(
        mode, recorder, lambda cp: cp.admin.billing.balances.get(target_user_ids=["u1", "u2"])
    )
    check_request(recorder, "POST", "/v1/admin/billing/balances")
    assert recorder.body() == {"targetUserIds": ["u1", "u2"]}
    assert [b.balance.to_decimal() for b in reply.balances] == [Decimal("12.5"), 0]
    await run(mode, recorder, lambda cp: cp.admin.billing.balances.get(target_user_ids="u3"))
    assert recorder.body() == {"targetUserIds": ["u3"]}


@pytest.mark.parametrize(
    ("amount", "wire"),
    [
        (Money.from_decimal("12.5"), USD_12_50),
        (Decimal("12.50"), USD_12_50),
        ("12.5", USD_12_50),
        ("12.5 USD", USD_12_50),
        (7, {"currencyCode": "USD", "units": "7", "nanos": 0}),
    ],
)
async def test_admin_balances_add(mode: str, amount: Any, wire: dict[str, Any]) -> None:
    recorder = Recorder((200, {"balance": USD_12_50}))
    reply = await run(
        mode,
        recorder,
        lambda cp: cp.admin.billing.balances.add(target_user_id="u1", amount=amount),
    )
    check_request(recorder, "POST", "/v1/admin/billing/balances:add")
    assert recorder.body() == {"targetUserId": "u1", "amount": wire}
    assert reply.balance == Money.from_decimal("12.5")


@pytest.mark.parametrize("amount", [12.5, "twelve", "1.0000000001", None])
async def test_admin_balances_add_refuses_bad_amounts_before_sending(
    mode: str, amount: Any
) -> None:
    recorder = Recorder((200, {}))
    with pytest.raises(TensormeshError, match="invalid amount"):
        await run(
            mode,
            recorder,
            lambda cp: cp.admin.billing.balances.add(target_user_id="u1", amount=amount),
        )
    assert recorder.requests == []


async def test_admin_balances_add_is_never_retried(mode: str) -> None:
    recorder = Recorder((503, {"code": 14, "message": "unavailable"}))
    with pytest.raises(TensormeshError, match="unavailable"):
        await run(
            mode,
            recorder,
            lambda cp: cp.admin.billing.balances.add(target_user_id="u1", amount="1"),
            max_retries=3,
        )
    assert len(recorder.requests) == 1


async def test_admin_spending_summary(mode: str) -> None:
    body = {"summaries": [{"userId": "u1", "spend24h": USD_12_50, "spend30d": {"units": "40"}}]}
    recorder = Recorder((200, body))
    reply = await run(
        mode, recorder, lambda cp: cp.admin.billing.spending.summary(target_user_ids=["u1"])
    )
    check_request(recorder, "POST", "/v1/admin/billing/spending/summary")
    assert recorder.body() == {"targetUserIds": ["u1"]}
    (summary,) = reply.summaries
    assert summary.user_id == "u1"
    assert summary.spend_24h.to_decimal() == Decimal("12.5")
    assert summary.spend_7d.to_decimal() == 0
    assert summary.spend_30d.to_decimal() == 40


async def test_admin_pricing_list(mode: str) -> None:
    recorder = Recorder((200, {"pricing": [PRICING]}))
    reply = await run(mode, recorder, lambda cp: cp.admin.billing.pricing.serverless.list())
    check_request(recorder, "GET", "/v1/admin/billing/serverless-pricing")
    assert reply.pricing[0].model == "SmolLM2-135M-Instruct"


@pytest.mark.parametrize(("method", "verb"), [("create", "POST"), ("update", "PUT")])
async def test_admin_pricing_create_and_update(mode: str, method: str, verb: str) -> None:
    recorder = Recorder((200, {"pricing": PRICING}))
    as_model = ServerlessPricing.model_validate(PRICING)
    reply = await run(
        mode, recorder, lambda cp: getattr(cp.admin.billing.pricing.serverless, method)(as_model)
    )
    check_request(recorder, verb, "/v1/admin/billing/serverless-pricing")
    assert recorder.body() == {"pricing": PRICING}
    assert reply.pricing.id == "p1"
    # A mapping with Python names works too.
    snake = {"model": "m", "input_token_price": Money.parse("0.1")}
    await run(
        mode, recorder, lambda cp: getattr(cp.admin.billing.pricing.serverless, method)(snake)
    )
    assert recorder.body() == {
        "pricing": {
            "model": "m",
            "inputTokenPrice": {"currencyCode": "USD", "units": "0", "nanos": 100_000_000},
        }
    }


async def test_admin_pricing_refuses_an_invalid_price_before_sending(mode: str) -> None:
    recorder = Recorder((200, {}))
    bad = {"model": "m", "inputTokenPrice": {"units": "0", "nanos": 1_000_000_000}}
    with pytest.raises(TensormeshError, match="invalid pricing"):
        await run(mode, recorder, lambda cp: cp.admin.billing.pricing.serverless.create(bad))
    assert recorder.requests == []


async def test_admin_pricing_delete(mode: str) -> None:
    recorder = Recorder((200, {}))
    await run(mode, recorder, lambda cp: cp.admin.billing.pricing.serverless.delete("p 1"))
    check_request(recorder, "DELETE", "/v1/admin/billing/serverless-pricing", {"id": "p 1"})


async def test_a_reply_of_the_wrong_shape_is_a_protocol_error(mode: str) -> None:
    recorder = Recorder((200, {"balance": {"units": "1", "nanos": -5}}))
    with pytest.raises(ProtocolError, match="expected shape"):
        await run(mode, recorder, lambda cp: cp.billing.balance.get())


async def test_control_plane_errors_map_to_sdk_errors(mode: str) -> None:
    import tensormesh

    recorder = Recorder((403, {"code": 7, "message": "admins only", "details": []}))
    with pytest.raises(tensormesh.PermissionDeniedError, match="admins only"):
        await run(mode, recorder, lambda cp: cp.admin.billing.balances.get(target_user_ids=["x"]))
