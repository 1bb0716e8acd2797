"""Admin pricing and credit through the Control Plane app: the rules, the error shape, and
"nothing written" on every refusal; acting for another user."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from tensormesh_server.store.billing_models import BillingTransaction, ServerlessPrice
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import Activity
from tests.controlplane.helpers import FakeClock
from tests.support.people import Person

PRICING = "/v1/admin/billing/serverless-pricing"


def money(units: int | str = 0, nanos: int = 0) -> dict[str, Any]:
    return {"currencyCode": "USD", "units": str(units), "nanos": nanos}


def price(model: str = "alpha", **overrides: Any) -> dict[str, Any]:
    pricing = {
        "name": f"{model} price",
        "model": model,
        "inputTokenPrice": money(0, 20_000_000),
        "outputTokenPrice": money(0, 40_000_000),
        "cachedTokenPrice": money(0, 10_000_000),
    }
    return {"pricing": {**pricing, **overrides}}


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(ServerlessPrice)) or 0,
            session.scalar(select(func.count()).select_from(BillingTransaction)) or 0,
            session.scalar(select(func.count()).select_from(Activity)) or 0,
        )


def assert_error(response: httpx2.Response, status: int, grpc_code: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == grpc_code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["details"] == []
    assert response.headers["x-request-id"]


async def test_admin_pricing_create_list_update_delete(
    client: httpx2.AsyncClient, admin: Person, alice: Person, db: Database
) -> None:
    made = await client.post(PRICING, json=price(), headers=admin.headers)
    assert made.status_code == 200, made.text
    first = made.json()["pricing"]
    assert first["model"] == "alpha"
    assert first["isActive"] is True
    assert first["inputTokenPrice"] == money(0, 20_000_000)

    second = (
        await client.post(
            PRICING, json=price(outputTokenPrice=money(1, 500_000_000)), headers=admin.headers
        )
    ).json()["pricing"]
    listed = (await client.get(PRICING, headers=admin.headers)).json()["pricing"]
    assert {(p["id"], p["isActive"]) for p in listed} == {
        (first["id"], False),
        (second["id"], True),
    }

    public = await client.get(
        "/v1/billing/serverless-pricing", params={"activeOnly": "true"}, headers=alice.headers
    )
    assert [p["id"] for p in public.json()["pricing"]] == [second["id"]]

    changed = await client.put(
        PRICING,
        json={"pricing": {"id": first["id"], "isActive": True, "inputTokenPrice": money(0, 5)}},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["pricing"]["inputTokenPrice"] == money(0, 5)
    active = (await client.get(PRICING, params={"activeOnly": "1"}, headers=admin.headers)).json()
    assert [p["id"] for p in active["pricing"]] == [first["id"]]

    gone = await client.delete(PRICING, params={"id": second["id"]}, headers=admin.headers)
    assert gone.status_code == 200
    assert gone.json() == {}
    assert_error(await client.delete(PRICING, params={"id": "nope"}, headers=admin.headers), 404, 5)
    with db.session() as session:
        actions = session.scalars(
            select(Activity.action).where(Activity.action.like("billing.pricing.%"))
        ).all()
    assert sorted(actions) == [
        "billing.pricing.create",
        "billing.pricing.create",
        "billing.pricing.delete",
        "billing.pricing.update",
    ]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (price("gamma"), "unknown model"),
        (price(inputTokenPrice=money(0, 1_000_000_000)), "nanos out of range"),
        (price(inputTokenPrice=money(0, -5)), "negative price"),
        (price(outputTokenPrice=money(-1, 0)), "negative units"),
        (price(cachedTokenPrice=money(1, -5)), "units and nanos of different signs"),
        (price(inputTokenPrice=money("ten", 0)), "non-numeric units"),
        (price(inputTokenPrice={"currencyCode": "USD", "units": "0", "nanos": 0.5}), "float"),
        (price(inputTokenPrice=money(0, 1) | {"currencyCode": "EUR"}), "another currency"),
        ({"pricing": {"model": "alpha", "outputTokenPrice": money(1)}}, "no input price"),
        (price(""), "no model"),
        ({}, "no pricing"),
    ],
)
async def test_bad_prices_are_refused_and_nothing_is_written(
    client: httpx2.AsyncClient, admin: Person, db: Database, body: dict[str, Any], why: str
) -> None:
    before = counts(db)
    assert_error(await client.post(PRICING, json=body, headers=admin.headers), 400, 3)
    assert counts(db) == before, why


async def test_an_update_with_a_bad_price_changes_nothing(
    client: httpx2.AsyncClient, admin: Person, db: Database
) -> None:
    made = (await client.post(PRICING, json=price(), headers=admin.headers)).json()["pricing"]
    before = counts(db)
    bad = {
        "pricing": {"id": made["id"], "inputTokenPrice": money(0, 1), "outputTokenPrice": money(-2)}
    }
    assert_error(await client.put(PRICING, json=bad, headers=admin.headers), 400, 3)
    unknown = {"pricing": {"id": made["id"], "model": "gamma"}}
    assert_error(await client.put(PRICING, json=unknown, headers=admin.headers), 400, 3)
    assert counts(db) == before
    listed = (await client.get(PRICING, headers=admin.headers)).json()["pricing"]
    assert listed[0]["inputTokenPrice"] == money(0, 20_000_000)
    assert listed[0]["model"] == "alpha"


ADMIN_CALLS = [
    ("GET", PRICING, None),
    ("POST", PRICING, price()),
    ("PUT", PRICING, {"pricing": {"id": "x", "model": "alpha"}}),
    ("DELETE", PRICING + "?id=x", None),
    ("POST", "/v1/admin/billing/balances", {"targetUserIds": ["x"]}),
    ("POST", "/v1/admin/billing/balances:add", {"targetUserId": "x", "amount": money(5)}),
    ("POST", "/v1/admin/billing/spending/summary", {"targetUserIds": ["x"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
async def test_admin_routes_refuse_non_admins(
    client: httpx2.AsyncClient,
    alice: Person,
    db: Database,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    before = counts(db)
    answer = await client.request(method, path, json=body, headers=alice.headers)
    assert_error(answer, 403, 7)
    assert_error(await client.request(method, path, json=body), 401, 16)
    assert counts(db) == before


async def test_credit_moves_the_balance_and_writes_the_ledger(
    client: httpx2.AsyncClient,
    admin: Person,
    alice: Person,
    bob: Person,
    db: Database,
    clock: FakeClock,
) -> None:
    add = "/v1/admin/billing/balances:add"
    first = await client.post(
        add, json={"targetUserId": alice.id, "amount": money(5, 250_000_000)}, headers=admin.headers
    )
    assert first.status_code == 200, first.text
    assert first.json() == {"balance": money(5, 250_000_000)}
    clock.advance(1)
    await client.post(
        add, json={"targetUserId": alice.id, "amount": money(0, 1)}, headers=admin.headers
    )

    mine = await client.get("/v1/billing/balance", headers=alice.headers)
    assert mine.json()["balance"] == money(5, 250_000_001)
    listed = (await client.get("/v1/billing/transactions", headers=alice.headers)).json()
    kinds = [(t["type"], t["amount"]) for t in listed["transactions"]]
    assert kinds == [
        ("TRANSACTION_TYPE_CREDIT", money(0, 1)),
        ("TRANSACTION_TYPE_CREDIT", money(5, 250_000_000)),
    ]
    assert listed.get("nextPageToken", "") == ""

    both = await client.post(
        "/v1/admin/billing/balances",
        json={"targetUserIds": [alice.id, bob.id]},
        headers=admin.headers,
    )
    assert both.json()["balances"] == [
        {"userId": alice.id, "balance": money(5, 250_000_001)},
        {"userId": bob.id, "balance": money(0)},
    ]
    as_admin = await client.get(
        "/v1/billing/balance", params={"userId": alice.id}, headers=admin.headers
    )
    assert as_admin.json()["balance"] == money(5, 250_000_001)
    assert_error(
        await client.get("/v1/billing/balance", params={"userId": alice.id}, headers=bob.headers),
        403,
        7,
    )
    with db.session() as session:
        credits = session.scalars(select(Activity).where(Activity.action == "billing.credit")).all()
    assert [a.user_id for a in credits] == [alice.id, alice.id]
    assert all(a.actor_id == admin.id for a in credits)


@pytest.mark.parametrize(
    "amount",
    [
        money(-5),
        money(0, -1),
        money(0),
        money("abc"),
        money(0, 1_000_000_000),
        {"currencyCode": "USD", "units": "1", "nanos": 1.5},
        {"currencyCode": "USD", "units": 1.5, "nanos": 0},
        "5.00",
        None,
    ],
)
async def test_bad_credit_amounts_are_refused_and_nothing_is_written(
    client: httpx2.AsyncClient, admin: Person, alice: Person, db: Database, amount: Any
) -> None:
    before = counts(db)
    answer = await client.post(
        "/v1/admin/billing/balances:add",
        json={"targetUserId": alice.id, "amount": amount},
        headers=admin.headers,
    )
    assert_error(answer, 400, 3)
    assert counts(db) == before


async def test_credit_for_an_unknown_user_is_404(
    client: httpx2.AsyncClient, admin: Person, db: Database
) -> None:
    before = counts(db)
    answer = await client.post(
        "/v1/admin/billing/balances:add",
        json={"targetUserId": "nobody", "amount": money(1)},
        headers=admin.headers,
    )
    assert_error(answer, 404, 5)
    assert counts(db) == before


async def test_billing_address_round_trip_and_audit(
    client: httpx2.AsyncClient, alice: Person, bob: Person, admin: Person, db: Database
) -> None:
    empty = await client.get("/v1/billing/address", headers=alice.headers)
    assert empty.status_code == 200
    assert empty.json() == {"address": {}}
    update = {"address": {"line1": "1 Main St", "city": "Paris", "country": "FR", "name": "A"}}
    done = await client.put("/v1/billing/address", json=update, headers=alice.headers)
    assert done.status_code == 200
    assert done.json() == {}
    await client.put(
        "/v1/billing/address", json={"address": {"city": "Lyon"}}, headers=alice.headers
    )
    got = (await client.get("/v1/billing/address", headers=alice.headers)).json()["address"]
    assert got == {"line1": "1 Main St", "city": "Lyon", "country": "FR", "name": "A"}
    forbidden = await client.put(
        "/v1/billing/address", json={"userId": alice.id, **update}, headers=bob.headers
    )
    assert_error(forbidden, 403, 7)
    by_admin = await client.get(
        "/v1/billing/address", params={"userId": alice.id}, headers=admin.headers
    )
    assert by_admin.json()["address"]["city"] == "Lyon"
    too_long = {"address": {"city": "x" * 1000}}
    assert_error(
        await client.put("/v1/billing/address", json=too_long, headers=alice.headers), 400, 3
    )
    with db.session() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Activity)
            .where(Activity.action == "billing.address.update")
        )
    assert count == 2
