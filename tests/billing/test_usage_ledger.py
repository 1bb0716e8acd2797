"""Usage into money: each request charged by the SDK's rule at its model's active price, one
CHARGE per user and batch with per-model details, balances equal to the ledger under
concurrent writers; transactions pages, spending and usage history."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import httpx2
import pytest
from sqlalchemy import func, select

from tensormesh.types.billing import ServerlessPricing, TransactionType
from tensormesh.types.money import Money
from tensormesh_server.controlplane.services import billing, billing_ledger
from tensormesh_server.controlplane.services.activities import OPERATOR
from tensormesh_server.metering.database import DatabaseSink
from tensormesh_server.store.billing_models import BillingTransaction, RequestRecord
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import User
from tests.controlplane.helpers import FakeClock
from tests.support.people import Person

from .conftest import usage
from .test_pricing_and_credit import PRICING, money, price


async def set_prices(client: httpx2.AsyncClient, admin: Person) -> dict[str, ServerlessPricing]:
    prices = {}
    for model, body in (
        ("alpha", price("alpha")),
        ("beta", price("beta", inputTokenPrice=money(1, 3), outputTokenPrice=money(2, 7))),
    ):
        made = await client.post(PRICING, json=body, headers=admin.headers)
        assert made.status_code == 200, made.text
        prices[model] = ServerlessPricing.model_validate(made.json()["pricing"])
    return prices


def credit(db: Database, user_id: str, amount: str, now: datetime) -> None:
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        billing.add_credit(session, OPERATOR, user, Money.from_decimal(amount), now=now)


def ledger(db: Database, user_id: str) -> tuple[int, int, int, int]:
    """(balance, ledger sum, credits, charges) in nanos."""
    with db.session() as session:
        rows = session.execute(
            select(BillingTransaction.type, func.sum(BillingTransaction.amount_nanos))
            .where(BillingTransaction.user_id == user_id)
            .group_by(BillingTransaction.type)
        ).all()
        by_type = {kind: int(total) for kind, total in rows}
        return (
            billing_ledger.balance_nanos(session, user_id),
            billing_ledger.ledger_sum_nanos(session, user_id),
            by_type.get(TransactionType.CREDIT.value, 0),
            by_type.get(TransactionType.CHARGE.value, 0),
        )


async def test_a_batch_is_charged_by_the_one_rule_with_per_model_details(
    client: httpx2.AsyncClient,
    admin: Person,
    alice: Person,
    bob: Person,
    db: Database,
    clock: FakeClock,
) -> None:
    prices = await set_prices(client, admin)
    now = clock.now()
    batch = [
        usage(alice.id, "alpha", 1000, 200, 300, at=now),
        usage(alice.id, "alpha", 7, 3, at=now),
        usage(alice.id, "beta", 123_457, 999, 1, at=now),
        usage(alice.id, "unpriced", 50, 50, at=now),
        usage(bob.id, "beta", 1, 1, at=now),
        usage(None, "alpha", 10_000, 10_000, at=now),  # a static operator key
        usage(bob.id, "alpha", 0, 0, at=now),  # a failed request: no tokens, no charge
    ]
    DatabaseSink(db, clock.now).write(batch)
    DatabaseSink(db, clock.now).write(batch)  # a retried batch counts once

    def expected(user_id: str | None) -> int:
        return sum(
            prices[r.model]
            .charge(
                input_tokens=r.prompt_tokens,
                output_tokens=r.completion_tokens,
                cached_tokens=r.cached_tokens,
            )
            .charge.to_nanos()
            for r in batch
            if r.user_id == user_id and r.model in prices
        )

    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(RequestRecord)) == len(batch)
        charges = session.scalars(
            select(BillingTransaction).where(BillingTransaction.type == "TRANSACTION_TYPE_CHARGE")
        ).all()
        static = session.scalar(select(RequestRecord).where(RequestRecord.user_id.is_(None)))
        assert static is not None
        assert static.charge_nanos == 0
        assert static.transaction_id is None
    by_user = {row.user_id: row for row in charges}
    assert set(by_user) == {alice.id, bob.id}
    assert by_user[alice.id].amount_nanos == -expected(alice.id)
    assert by_user[bob.id].amount_nanos == -expected(bob.id)
    details = by_user[alice.id].details["models"]
    assert set(details) == {"alpha", "beta"}
    assert details["alpha"]["eventCount"] == "2"
    assert details["alpha"]["inputTokens"] == "1007"
    assert details["alpha"]["cachedTokens"] == "300"
    alpha_total = Money.model_validate(details["alpha"]["totalAmount"]).to_nanos()
    beta_total = Money.model_validate(details["beta"]["totalAmount"]).to_nanos()
    assert alpha_total + beta_total == expected(alice.id)
    saving = prices["alpha"].charge(input_tokens=1000, output_tokens=200, cached_tokens=300)
    assert (
        by_user[alice.id].cost_saving_nanos
        == saving.cost_saving.to_nanos()
        + prices["beta"]
        .charge(input_tokens=123_457, output_tokens=999, cached_tokens=1)
        .cost_saving.to_nanos()
    )
    for person in (alice, bob):
        balance, total, credits, charged = ledger(db, person.id)
        assert balance == total == credits + charged == -expected(person.id)

    listed = (await client.get("/v1/billing/transactions", headers=alice.headers)).json()
    (charge,) = listed["transactions"]
    assert charge["type"] == "TRANSACTION_TYPE_CHARGE"
    assert Money.model_validate(charge["amount"]).to_nanos() == -expected(alice.id)
    assert charge["details"]["models"]["beta"]["eventCount"] == "1"


def test_concurrent_writers_keep_every_balance_equal_to_its_ledger(
    db: Database, alice: Person, bob: Person, clock: FakeClock
) -> None:
    with db.session() as session:
        from tensormesh_server.controlplane.services import billing_pricing

        billing_pricing.create_pricing(
            session,
            OPERATOR,
            ServerlessPricing(
                model="alpha",
                input_token_price=Money.from_decimal("0.123456789"),
                output_token_price=Money.from_decimal("0.987654321"),
            ),
            now=clock.now(),
            static_models=("alpha",),
        )
    errors: list[BaseException] = []
    users = (alice.id, bob.id)

    def gateway(worker: int) -> None:
        sink = DatabaseSink(db, clock.now)
        try:
            for batch in range(8):
                records = [
                    usage(users[n % 2], "alpha", 100 + worker + n, 7 * batch + n, at=clock.now())
                    for n in range(10)
                ]
                sink.write(records)
                if batch % 3 == 0:
                    credit(db, users[worker % 2], "0.000000007", clock.now())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=gateway, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with db.session() as session:
        records = session.scalars(select(RequestRecord)).all()
        assert len(records) == 6 * 8 * 10
    for user_id in users:
        balance, total, credits, charged = ledger(db, user_id)
        assert balance == total == credits + charged
        assert credits == 9 * 7  # 3 credits per worker, 3 workers per user
        assert -charged == sum(r.charge_nanos for r in records if r.user_id == user_id) > 0


async def test_transactions_come_in_cursor_pages(
    client: httpx2.AsyncClient, alice: Person, db: Database, clock: FakeClock
) -> None:
    empty = (await client.get("/v1/billing/transactions", headers=alice.headers)).json()
    assert empty.get("transactions", []) == []
    assert empty.get("nextPageToken", "") == ""
    for n in range(7):
        credit(db, alice.id, f"0.{n + 1}", clock.now())
        if n != 3:  # two credits at the same instant must still page correctly
            clock.advance(1)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {"pageSize": "3", **({"pageToken": token} if token else {})}
        page = (
            await client.get("/v1/billing/transactions", params=params, headers=alice.headers)
        ).json()
        seen.extend(t["transactionId"] for t in page["transactions"])
        pages += 1
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    everything = (
        await client.get("/v1/billing/transactions", params={"pageSize": 50}, headers=alice.headers)
    ).json()
    assert [t["transactionId"] for t in everything["transactions"]] == seen
    amounts = [Money.model_validate(t["amount"]).to_decimal() for t in everything["transactions"]]
    assert amounts[0] == Money.from_decimal("0.7").to_decimal()
    for bad in ({"pageToken": "garbage!"}, {"pageSize": "0"}, {"pageSize": "many"}):
        answer = await client.get("/v1/billing/transactions", params=bad, headers=alice.headers)
        assert answer.status_code == 400
        assert answer.json()["code"] == 3


async def test_spending_summary_history_and_usage_history(
    client: httpx2.AsyncClient, admin: Person, alice: Person, db: Database, clock: FakeClock
) -> None:
    prices = await set_prices(client, admin)
    start = clock.now()  # 2026-01-01 12:00 UTC, a Thursday
    sink = DatabaseSink(db, clock.now)
    plan = [(0, 1000, 100, 400), (30, 2000, 10, 0), (72, 500, 500, 100), (480, 10, 10, 0)]
    for hours_ago, prompt, completion, cached in plan:
        clock.current = start - timedelta(hours=hours_ago)
        sink.write([usage(alice.id, "alpha", prompt, completion, cached, at=clock.current)])
    clock.current = start - timedelta(days=40)
    sink.write([usage(alice.id, "beta", 5, 5, at=clock.current)])  # older than 30 days
    clock.current = start + timedelta(seconds=1)

    def cost(prompt: int, completion: int, cached: int) -> int:
        charge = prices["alpha"].charge(
            input_tokens=prompt, output_tokens=completion, cached_tokens=cached
        )
        return charge.charge.to_nanos()

    costs = [cost(p, c, k) for _, p, c, k in plan]
    summary = (await client.get("/v1/billing/spending/summary", headers=alice.headers)).json()
    assert Money.model_validate(summary["spend24h"]).to_nanos() == costs[0]
    assert Money.model_validate(summary["spend7d"]).to_nanos() == sum(costs[:3])
    assert Money.model_validate(summary["spend30d"]).to_nanos() == sum(costs)
    admin_view = await client.post(
        "/v1/admin/billing/spending/summary",
        json={"targetUserIds": [alice.id]},
        headers=admin.headers,
    )
    assert admin_view.json()["summaries"] == [{"userId": alice.id, **summary}]

    history = (await client.get("/v1/billing/spending/history", headers=alice.headers)).json()
    buckets = history["buckets"]
    assert [b["bucketStart"][:10] for b in buckets] == [
        "2025-12-12",
        "2025-12-29",
        "2025-12-31",
        "2026-01-01",
    ]
    assert [Money.model_validate(b["amount"]).to_nanos() for b in buckets] == costs[::-1]
    saving = prices["alpha"].charge(input_tokens=1000, output_tokens=100, cached_tokens=400)
    assert Money.model_validate(buckets[-1]["costSaving"]) == saving.cost_saving

    rows = (
        await client.get(
            "/v1/billing/serverless-usage/history",
            params={
                "bucket": "USAGE_BUCKET_WEEK",
                "startTime": "2025-12-20T00:00:00Z",
                "endTime": "2026-01-02T00:00:00+00:00",
            },
            headers=alice.headers,
        )
    ).json()["rows"]
    assert [(r["bucketStart"][:10], r["inputTokens"], r["requestCount"]) for r in rows] == [
        ("2025-12-29", "3500", "3")
    ]
    monthly = (
        await client.get(
            "/v1/billing/serverless-usage/history",
            params={"bucket": "USAGE_BUCKET_MONTH", "startTime": "2025-11-01T00:00:00Z"},
            headers=alice.headers,
        )
    ).json()["rows"]
    assert [(r["bucketStart"][:10], r["modelId"], r["requestCount"]) for r in monthly] == [
        ("2025-11-01", "beta", "1"),
        ("2025-12-01", "alpha", "3"),
        ("2026-01-01", "alpha", "1"),
    ]
    daily = (
        await client.get("/v1/billing/serverless-usage/history", headers=alice.headers)
    ).json()["rows"]
    assert [r["bucketStart"][:10] for r in daily] == [
        "2025-12-12",
        "2025-12-29",
        "2025-12-31",
        "2026-01-01",
    ]
    assert daily[-1]["cachedTokens"] == "400"
    assert daily[-1]["outputTokens"] == "100"
    for bad in (
        {"bucket": "USAGE_BUCKET_YEAR"},
        {"startTime": "yesterday"},
        {"startTime": "2026-01-01T00:00:00"},
        {"startTime": "2026-01-02T00:00:00Z", "endTime": "2026-01-01T00:00:00Z"},
    ):
        answer = await client.get(
            "/v1/billing/serverless-usage/history", params=bad, headers=alice.headers
        )
        assert answer.status_code == 400, bad


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_operator_credit_refuses_non_positive_amounts(
    db: Database, alice: Person, amount: str
) -> None:
    from tensormesh_server.controlplane.errors import CPError

    with pytest.raises(CPError):
        billing.operator_credit(db, alice.email, Money.from_decimal(amount))
    assert ledger(db, alice.id) == (0, 0, 0, 0)
    assert billing.operator_credit(
        db, alice.email, Money.from_decimal("2.5")
    ) == Money.from_decimal("2.5")
    with pytest.raises(CPError):
        billing.operator_credit(db, "nobody@example.com", Money.from_decimal("1"))
    refunded = billing.operator_credit(db, alice.email, Money.from_decimal("0.5"), refund=True)
    assert refunded == Money.from_decimal("3")
    with db.session() as session:
        kinds = session.scalars(
            select(BillingTransaction.type).where(BillingTransaction.user_id == alice.id)
        ).all()
    assert sorted(kinds) == ["TRANSACTION_TYPE_CREDIT", "TRANSACTION_TYPE_REFUND"]
    assert ledger(db, alice.id)[:2] == (3_000_000_000, 3_000_000_000)


def test_clock_is_utc(clock: FakeClock) -> None:
    assert clock.now().tzinfo == timezone.utc
