"""The operator's signup credit for new users, and the billing routes in the OpenAPI document."""

from __future__ import annotations

import httpx2
import pytest
from starlette.routing import Route

from tensormesh.types.money import Money
from tensormesh_server.controlplane.routes import admin_billing, billing
from tensormesh_server.controlplane.services import billing_ledger
from tensormesh_server.controlplane.services.billing import signup_credit
from tensormesh_server.store.database import Database
from tests.controlplane.helpers import FakeClock
from tests.support.people import person


def test_signup_credit_from_the_environment() -> None:
    assert signup_credit({}) is None
    assert signup_credit({"TENSORMESH_SIGNUP_CREDIT": "5.00"}) == Money.from_decimal("5")
    for ignored in ("0", "-1", "five", "5 EUR"):
        assert signup_credit({"TENSORMESH_SIGNUP_CREDIT": ignored}) is None


def test_new_users_get_the_signup_credit(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = person(db, clock, "plain@example.com")
    monkeypatch.setenv("TENSORMESH_SIGNUP_CREDIT", "2.5")
    lucky = person(db, clock, "lucky@example.com")
    with db.session() as session:
        assert billing_ledger.balance_nanos(session, plain.id) == 0
        assert billing_ledger.balance_nanos(session, lucky.id) == 2_500_000_000
        assert billing_ledger.ledger_sum_nanos(session, lucky.id) == 2_500_000_000


async def test_openapi_documents_every_billing_route(client: httpx2.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for route in [*billing.routes, *admin_billing.routes]:
        assert isinstance(route, Route)
        assert route.methods is not None
        method = next(m for m in route.methods if m != "HEAD").lower()
        assert method in paths[route.path], (method, route.path)
