"""The operations routes in process, on SQLite and PostgreSQL: behaviour and pages."""

from __future__ import annotations

from unittest.mock import ANY

import httpx2

from tensormesh_server.controlplane.app import create_app
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.context import ControlPlaneContext
from tensormesh_server.store.database import Database
from tests.controlplane.helpers import FakeClock
from tests.support.people import Person


async def deploy(http: httpx2.AsyncClient, admin: Person, name: str, **extra: object) -> dict:
    body = {"modelName": name, "engine": "openai", "upstreamUrls": ["http://127.0.0.1:9"], **extra}
    answer = await http.post("/v1/models", json=body, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["model"])


async def test_deploy_list_get_validate_delete(
    http: httpx2.AsyncClient, admin: Person, owner: Person
) -> None:
    model = await deploy(http, admin, "m-one", userId=owner.id, description="d")
    assert model["status"] == "MODEL_STATUS_DEPLOYING"
    assert model["userId"] == owner.id
    assert model["events"][0]["eventType"] == "MODEL_STATUS_DEPLOYING"
    taken = await http.post(
        "/v1/models:validate", json={"modelName": "m-one"}, headers=owner.headers
    )
    assert taken.json()["isValid"] is False
    free = await http.post(
        "/v1/models:validate", json={"modelName": "m-two"}, headers=owner.headers
    )
    assert free.json()["isValid"] is True
    bad = await http.post("/v1/models:validate", json={"modelName": "-x y"}, headers=owner.headers)
    assert bad.json()["isValid"] is False
    again = await http.post(
        "/v1/models",
        json={"modelName": "m-one", "upstreamUrls": ["http://a"]},
        headers=admin.headers,
    )
    assert again.status_code == 409
    listed = (await http.get("/v1/models", params={"size": 10}, headers=owner.headers)).json()
    assert (listed["total"], listed["size"], listed["page"]) == (1, 10, 1)
    deleted = await http.delete(f"/v1/models/{model['modelId']}", headers=owner.headers)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    gone = await http.get(f"/v1/models/{model['modelId']}", headers=owner.headers)
    assert gone.json()["model"]["status"] == "MODEL_STATUS_DELETED"
    assert (await http.get("/v1/models", headers=owner.headers)).json()["total"] == 0
    assert (
        await http.post("/v1/models:validate", json={"modelName": "m-one"}, headers=owner.headers)
    ).json()["isValid"]


async def test_deploy_rejects_bad_input(http: httpx2.AsyncClient, admin: Person) -> None:
    cases = [
        {"modelName": "x", "engine": "openai"},
        {"modelName": "x", "engine": "openai", "upstreamUrls": ["ftp://a"]},
        {"modelName": "x", "engine": "gpu"},
        {"modelName": "x", "engine": "embedded", "upstreamUrls": ["http://a"]},
        {"modelName": "bad name", "upstreamUrls": ["http://a"]},
    ]
    for body in cases:
        answer = await http.post("/v1/models", json=body, headers=admin.headers)
        assert answer.status_code == 400, body
        assert answer.json()["code"] == 3


async def test_pages(http: httpx2.AsyncClient, admin: Person) -> None:
    for i in range(5):
        await deploy(http, admin, f"p-{i}")
    first = (
        await http.get("/v1/models", params={"page": 1, "size": 2}, headers=admin.headers)
    ).json()
    last = (
        await http.get("/v1/models", params={"page": 3, "size": 2}, headers=admin.headers)
    ).json()
    assert first["total"] == last["total"] == 5
    assert len(first["models"]) == 2
    assert len(last["models"]) == 1
    assert (
        await http.get("/v1/models", params={"page": 0}, headers=admin.headers)
    ).status_code == 400


async def test_tickets_flow(
    http: httpx2.AsyncClient, owner: Person, admin: Person, other: Person
) -> None:
    made = await http.post(
        "/v1/support/tickets",
        json={"subject": "help", "message": "it broke", "type": "bug"},
        headers=owner.headers,
    )
    ticket = made.json()["ticket"]
    assert ticket["status"] == "TICKET_STATUS_OPEN"
    assert ticket["conversations"][0]["content"] == "it broke"
    path = f"/v1/support/tickets/{ticket['ticketId']}"
    reply = await http.post(path + "/messages", json={"message": "on it"}, headers=admin.headers)
    assert [m["content"] for m in reply.json()["ticket"]["conversations"]] == ["it broke", "on it"]
    assert reply.json()["ticket"]["conversations"][1]["userRole"] == "USER_ROLE_SUPER_ADMIN"
    assert (await http.get(path, headers=other.headers)).status_code == 404
    closed = await http.delete(path, headers=owner.headers)
    assert closed.json()["ticket"]["status"] == "TICKET_STATUS_CLOSED"
    more = await http.post(path + "/messages", json={"message": "x"}, headers=owner.headers)
    assert more.status_code == 400
    open_only = await http.get(
        "/v1/support/tickets", params={"status": "TICKET_STATUS_OPEN"}, headers=owner.headers
    )
    assert open_only.json()["total"] == 0
    everyone = await http.get("/v1/support/tickets", headers=admin.headers)
    assert everyone.json()["total"] == 1
    assert (await http.get("/v1/support/tickets", headers=other.headers)).json()["total"] == 0


async def test_reserved_deployments(http: httpx2.AsyncClient, owner: Person, admin: Person) -> None:
    sent = await http.post(
        "/v1/support/reserved-deployments",
        json={"fullName": "A B", "totalGpusNeeded": 8, "preferredGpu": "H100"},
        headers=owner.headers,
    )
    request_id = sent.json()["requestId"]
    listed = await http.get("/v1/admin/support/reserved-deployments", headers=admin.headers)
    assert listed.json()["requests"][0]["requestId"] == request_id
    assert listed.json()["requests"][0]["totalGpusNeeded"] == 8
    refused = await http.get("/v1/admin/support/reserved-deployments", headers=owner.headers)
    assert refused.status_code == 403


async def test_activities_filters(http: httpx2.AsyncClient, owner: Person, admin: Person) -> None:
    await http.post(
        "/v1/support/tickets", json={"subject": "s", "message": "m"}, headers=owner.headers
    )
    mine = (await http.get("/v1/activities", headers=owner.headers)).json()
    actions = {a["action"] for a in mine["activities"]}
    assert "ticket.create" in actions
    only = await http.get(
        "/v1/activities", params={"action": "ticket.create"}, headers=owner.headers
    )
    assert only.json()["total"] == 1
    activity = only.json()["activities"][0]
    got = await http.get(f"/v1/activities/{activity['activityId']}", headers=owner.headers)
    assert got.json()["activity"]["resourceType"] == "ticket"
    typed = await http.get(
        "/v1/activities",
        params={"resourceType": "ticket", "resourceId": activity["resourceId"]},
        headers=admin.headers,
    )
    assert typed.json()["total"] == 1
    later = await http.get(
        "/v1/activities", params={"startTime": "2030-01-01T00:00:00Z"}, headers=admin.headers
    )
    assert later.json()["total"] == 0
    acting = await http.get("/v1/activities", params={"userId": owner.id}, headers=admin.headers)
    assert acting.json()["total"] == mine["total"]


async def test_change_role_rules(
    http: httpx2.AsyncClient, owner: Person, admin: Person, other: Person
) -> None:
    path = "/v1/admin/users/change_role"
    promote = {"targetUserId": owner.id, "targetUserRole": "USER_ROLE_ADMIN"}
    assert (await http.post(path, json=promote, headers=admin.headers)).status_code == 200
    # owner is now an admin, but not a super admin
    to_super = {"targetUserId": other.id, "targetUserRole": "USER_ROLE_SUPER_ADMIN"}
    assert (await http.post(path, json=to_super, headers=owner.headers)).status_code == 403
    demote_root = {"targetUserId": admin.id, "targetUserRole": "USER_ROLE_USER"}
    assert (await http.post(path, json=demote_root, headers=owner.headers)).status_code == 403
    last = await http.post(path, json=demote_root, headers=admin.headers)
    assert last.status_code == 400
    assert "last super admin" in last.json()["message"]
    users = (await http.get("/v1/admin/users", params={"size": 2}, headers=admin.headers)).json()
    assert users["total"] == 3
    assert len(users["users"]) == 2
    assert (await http.get("/v1/admin/users", headers=other.headers)).status_code == 403


async def test_products(http: httpx2.AsyncClient, owner: Person, admin: Person) -> None:
    body = {"product": {"id": "h100x8", "name": "H100 x8", "requiredGpuNum": 8, "family": "H100"}}
    made = await http.post("/v1/admin/products", json=body, headers=admin.headers)
    assert made.json()["product"]["requiredGpuNum"] == 8
    hidden = {"product": {"id": "old", "name": "Old", "isActive": False}}
    await http.post("/v1/admin/products", json=hidden, headers=admin.headers)
    listed = (await http.get("/v1/products", headers=owner.headers)).json()["products"]
    assert [p["id"] for p in listed] == ["h100x8"]
    everything = (await http.get("/v1/admin/products", headers=admin.headers)).json()["products"]
    assert {p["id"] for p in everything} == {"h100x8", "old"}
    deleted = await http.delete("/v1/products/old", headers=admin.headers)
    assert deleted.json() == {"deleted": True}
    assert (await http.delete("/v1/products/old", headers=admin.headers)).status_code == 404


async def test_cp_prometheus(http: httpx2.AsyncClient) -> None:
    answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert "tensormesh_metered_requests_total" in answer.text


async def test_names_of_static_models_are_taken(
    db: Database, clock: FakeClock, admin: Person
) -> None:
    cp = ControlPlaneContext(
        db, ControlPlaneConfig(), clock.now, clock.monotonic, static_models=("SmolLM2",)
    )
    transport = httpx2.ASGITransport(app=create_app(cp))
    async with httpx2.AsyncClient(transport=transport, base_url="http://cp.test") as http:
        check = await http.post(
            "/v1/models:validate", json={"modelName": "SmolLM2"}, headers=admin.headers
        )
        assert check.json() == {"isValid": False, "reason": ANY}
        assert "configured on the server" in check.json()["reason"]
        body = {"modelName": "SmolLM2", "upstreamUrls": ["http://127.0.0.1:9"]}
        taken = await http.post("/v1/models", json=body, headers=admin.headers)
        assert taken.status_code == 409
