"""`auto_paging_iter` of every numbered-page route, sync and async: empty, one page, several."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import FakeControlPlane, collect, page, paged

# (route, items field, id field on the wire, id attribute, pager of the control plane)
ROUTES: list[tuple[str, str, str, str, Callable[[Any], Any]]] = [
    ("/v1/models", "models", "modelId", "model_id", lambda cp: cp.models.auto_paging_iter(size=2)),
    (
        "/v1/support/tickets",
        "tickets",
        "ticketId",
        "ticket_id",
        lambda cp: cp.support.tickets.auto_paging_iter(size=2, status="TICKET_STATUS_OPEN"),
    ),
    (
        "/v1/activities",
        "activities",
        "activityId",
        "activity_id",
        lambda cp: cp.activities.auto_paging_iter(size=2, action="x"),
    ),
    ("/v1/admin/users", "users", "id", "id", lambda cp: cp.admin.users.auto_paging_iter(size=2)),
]
IDS = [route for route, *_ in ROUTES]


@pytest.mark.parametrize(("route", "field", "id_field", "attribute", "pager"), ROUTES, ids=IDS)
@pytest.mark.parametrize("count", [0, 2, 5])
async def test_every_item_of_every_page(
    mode: str,
    fake: FakeControlPlane,
    route: str,
    field: str,
    id_field: str,
    attribute: str,
    pager: Callable[[Any], Any],
    count: int,
) -> None:
    items = [{id_field: f"id-{n}"} for n in range(count)]
    fake.on("GET", route, paged(field, items))
    got = await collect(mode, fake, pager)
    assert [getattr(item, attribute) for item in got] == [item[id_field] for item in items]
    pages = [fake.query(i).get("page", "1") for i in range(len(fake.requests))]
    assert pages == [str(n) for n in range(1, max(1, -(-count // 2)) + 1)]
    assert all(fake.query(i)["size"] == "2" for i in range(len(fake.requests)))


async def test_filters_travel_with_every_page(mode: str, fake: FakeControlPlane) -> None:
    items = [{"activityId": f"a-{n}"} for n in range(3)]
    fake.on("GET", "/v1/activities", paged("activities", items))
    await collect(mode, fake, ROUTES[2][4])
    assert [fake.query(i)["action"] for i in range(2)] == ["x", "x"]


async def test_pages_are_fetched_lazily(fake: FakeControlPlane) -> None:
    items = [{"modelId": f"m-{n}"} for n in range(6)]
    fake.on("GET", "/v1/models", paged("models", items))
    from .conftest import sync_client

    with sync_client(fake) as client:
        pager = client.control_plane.models.auto_paging_iter(size=2)
        assert fake.requests == []
        first = next(pager)
        assert first.model_id == "m-0"
        assert len(fake.requests) == 1


async def test_a_server_without_total_stops_at_a_short_page(
    mode: str, fake: FakeControlPlane
) -> None:
    fake.on(
        "GET",
        "/v1/support/tickets",
        (200, {"tickets": [{"ticketId": "a"}, {"ticketId": "b"}]}),
        (200, {"tickets": [{"ticketId": "c"}]}),
    )
    got = await collect(mode, fake, lambda cp: cp.support.tickets.auto_paging_iter(size=2))
    assert [ticket.ticket_id for ticket in got] == ["a", "b", "c"]
    assert len(fake.requests) == 2


async def test_a_total_ends_the_walk_without_an_extra_request(
    mode: str, fake: FakeControlPlane
) -> None:
    fake.on("GET", "/v1/admin/users", (200, page("users", [{"id": "a"}, {"id": "b"}], 1, 2, 2)))
    got = await collect(mode, fake, lambda cp: cp.admin.users.auto_paging_iter())
    assert [user.id for user in got] == ["a", "b"]
    assert len(fake.requests) == 1
