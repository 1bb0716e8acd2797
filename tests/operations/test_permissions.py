"""Every operations route as the owner of the resource, another user, an admin and nobody:
the status each one gets (table-driven, SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from tensormesh_server.store.database import Database
from tests.controlplane.helpers import FakeClock
from tests.support.people import Person, person


@dataclass(frozen=True)
class World:
    """Resources owned by `owner`, made before each case."""

    model_id: str
    ticket_id: str
    activity_id: str
    product_id: str


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    owner: int
    other: int
    admin: int
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None


OWNED = (200, 404, 200)
ACTING_FOR = (200, 403, 200)
EVERYONE = (200, 200, 200)
ADMINS = (403, 403, 200)

CASES = {
    "get model": ("GET", "/v1/models/{model_id}", OWNED),
    "delete model": ("DELETE", "/v1/models/{model_id}", OWNED),
    "deploy model": ("POST", "/v1/models", ADMINS),
    "list models for owner": ("GET", "/v1/models", ACTING_FOR),
    "validate name": ("POST", "/v1/models:validate", EVERYONE),
    "deployment logs": ("GET", "/v1/observability/deployments/{model_id}/logs", OWNED),
    "deployment metrics": ("GET", "/v1/observability/deployments/{model_id}/metrics", OWNED),
    "user metrics for owner": ("GET", "/v1/observability/users/metrics", ACTING_FOR),
    "get ticket": ("GET", "/v1/support/tickets/{ticket_id}", OWNED),
    "message ticket": ("POST", "/v1/support/tickets/{ticket_id}/messages", OWNED),
    "close ticket": ("DELETE", "/v1/support/tickets/{ticket_id}", OWNED),
    "list tickets for owner": ("GET", "/v1/support/tickets", ACTING_FOR),
    "create ticket": ("POST", "/v1/support/tickets", EVERYONE),
    "submit reserved": ("POST", "/v1/support/reserved-deployments", EVERYONE),
    "list reserved": ("GET", "/v1/admin/support/reserved-deployments", ADMINS),
    "get activity": ("GET", "/v1/activities/{activity_id}", OWNED),
    "list activities for owner": ("GET", "/v1/activities", ACTING_FOR),
    "list products": ("GET", "/v1/products", EVERYONE),
    "admin list products": ("GET", "/v1/admin/products", ADMINS),
    "upsert product": ("POST", "/v1/admin/products", ADMINS),
    "delete product": ("DELETE", "/v1/products/{product_id}", ADMINS),
    "list users": ("GET", "/v1/admin/users", ADMINS),
    "change role": ("POST", "/v1/admin/users/change_role", ADMINS),
}

BODIES: dict[str, dict[str, Any]] = {
    "deploy model": {"modelName": "fresh", "upstreamUrls": ["http://127.0.0.1:9"]},
    "validate name": {"modelName": "anything"},
    "message ticket": {"message": "more"},
    "create ticket": {"subject": "s", "message": "m"},
    "submit reserved": {"fullName": "A", "totalGpusNeeded": 1},
    "upsert product": {"product": {"id": "p2", "name": "P2"}},
}
ACTS_FOR_OWNER = {
    "list models for owner",
    "user metrics for owner",
    "list tickets for owner",
    "list activities for owner",
}


async def make_world(http: httpx2.AsyncClient, owner: Person, admin: Person) -> World:
    model = await http.post(
        "/v1/models",
        json={"modelName": "owned", "upstreamUrls": ["http://127.0.0.1:9"], "userId": owner.id},
        headers=admin.headers,
    )
    ticket = await http.post(
        "/v1/support/tickets", json={"subject": "s", "message": "m"}, headers=owner.headers
    )
    product = await http.post(
        "/v1/admin/products", json={"product": {"id": "p1", "name": "P1"}}, headers=admin.headers
    )
    activities = await http.get(
        "/v1/activities", params={"action": "ticket.create"}, headers=owner.headers
    )
    assert product.status_code == 200
    return World(
        model.json()["model"]["modelId"],
        ticket.json()["ticket"]["ticketId"],
        activities.json()["activities"][0]["activityId"],
        "p1",
    )


@pytest.mark.parametrize("who", ["owner", "other", "admin", "nobody"])
@pytest.mark.parametrize("name", sorted(CASES))
async def test_route_permissions(
    http: httpx2.AsyncClient,
    db: Database,
    clock: FakeClock,
    owner: Person,
    other: Person,
    admin: Person,
    name: str,
    who: str,
) -> None:
    world = await make_world(http, owner, admin)
    method, template, expected = CASES[name]
    path = template.format(**vars(world))
    params = {"userId": owner.id} if name in ACTS_FOR_OWNER else None
    body = dict(BODIES.get(name, {}))
    if name == "change role":
        body = {"targetUserId": other.id, "targetUserRole": "USER_ROLE_USER"}
    caller = {"owner": owner, "other": other, "admin": admin}.get(who)
    headers = caller.headers if caller else {}
    answer = await http.request(
        method, path, params=params, json=body if method == "POST" else None, headers=headers
    )
    want = 401 if caller is None else expected[("owner", "other", "admin").index(who)]
    assert answer.status_code == want, (name, who, answer.text)
    assert "x-request-id" in answer.headers
    if want >= 400:
        assert answer.json()["code"] in {3, 5, 7, 16}


async def test_a_plain_admin_is_an_admin(
    http: httpx2.AsyncClient, db: Database, clock: FakeClock, owner: Person, admin: Person
) -> None:
    from tensormesh.types.control_plane import UserRole

    plain = person(db, clock, "plain-admin@example.com", UserRole.ADMIN)
    world = await make_world(http, owner, admin)
    seen = await http.get(f"/v1/models/{world.model_id}", headers=plain.headers)
    assert seen.status_code == 200
