"""Every operations method of the SDK: the request on the wire and the parsed reply, with a
sync and an async client."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import tensormesh
from tensormesh.types.control_plane import UserRole
from tensormesh.types.operations import (
    DeploymentStatus,
    LogDirection,
    Product,
    TicketStatus,
)

from .conftest import TOKEN, FakeControlPlane, run

MODEL = {"modelId": "m-1", "modelName": "qwen", "status": "MODEL_STATUS_DEPLOYING"}
TICKET = {"ticketId": "t-1", "subject": "help", "status": "TICKET_STATUS_OPEN"}
USER = {"id": "u-2", "userEmail": "bob@example.com", "userRole": "USER_ROLE_ADMIN"}
T0 = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
POINTS = [{"timestamp": "2026-01-31T12:00:00Z", "value": 4}]


def check_request(fake: FakeControlPlane, method: str, path: str) -> None:
    request = fake.last
    assert (request.method, request.url.path) == (method, path)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_models_list(mode: str, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/models", (200, {"models": [MODEL], "page": 2, "size": 1, "total": 5}))
    reply = await run(mode, fake, lambda cp: cp.models.list(user_id="u-1", page=2, size=1))
    check_request(fake, "GET", "/v1/models")
    assert fake.query() == {"userId": "u-1", "page": "2", "size": "1"}
    assert reply.models[0].status is DeploymentStatus.DEPLOYING
    assert (reply.page, reply.size, reply.total) == (2, 1, 5)


async def test_models_get_deploy_delete_validate(mode: str, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/models/m 1", (200, {"model": MODEL}))
    reply = await run(mode, fake, lambda cp: cp.models.get("m 1"))
    assert fake.last.url.raw_path == b"/v1/models/m%201"
    assert reply.model.model_name == "qwen"

    fake.on("POST", "/v1/models", (200, {"model": MODEL}))
    deployed = await run(
        mode,
        fake,
        lambda cp: cp.models.deploy(
            model_name="qwen",
            description="two replicas",
            model_path="Qwen/Qwen3-8B",
            engine="openai",
            upstream_urls=["http://a:8000/v1", "http://b:8000/v1"],
            max_model_len=8192,
        ),
    )
    check_request(fake, "POST", "/v1/models")
    assert fake.body() == {
        "modelName": "qwen",
        "description": "two replicas",
        "modelPath": "Qwen/Qwen3-8B",
        "engine": "openai",
        "upstreamUrls": ["http://a:8000/v1", "http://b:8000/v1"],
        "maxModelLen": 8192,
    }
    assert deployed.model.model_id == "m-1"

    fake.on("DELETE", "/v1/models/m-1", (200, {}))
    await run(mode, fake, lambda cp: cp.models.delete("m-1"))
    check_request(fake, "DELETE", "/v1/models/m-1")
    assert fake.last.content == b""

    fake.on("POST", "/v1/models:validate", (200, {"isValid": True}))
    valid = await run(mode, fake, lambda cp: cp.models.validate_name("qwen"))
    check_request(fake, "POST", "/v1/models:validate")
    assert fake.body() == {"modelName": "qwen"}
    assert valid.is_valid is True


async def test_deploy_checks_its_arguments_before_sending(
    mode: str, fake: FakeControlPlane
) -> None:
    with pytest.raises(tensormesh.TensormeshError, match="max_model_len"):
        await run(mode, fake, lambda cp: cp.models.deploy(model_name="x", max_model_len=0))
    with pytest.raises(tensormesh.TensormeshError, match="page"):
        await run(mode, fake, lambda cp: cp.models.list(page=0))
    assert fake.requests == []


async def test_tickets(mode: str, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/support/tickets", (200, {"tickets": [TICKET], "total": 1}))
    listed = await run(
        mode,
        fake,
        lambda cp: cp.support.tickets.list(status=TicketStatus.OPEN, page=1, size=5, user_id="u"),
    )
    check_request(fake, "GET", "/v1/support/tickets")
    assert fake.query() == {"status": "TICKET_STATUS_OPEN", "page": "1", "size": "5", "userId": "u"}
    assert listed.tickets[0].status is TicketStatus.OPEN

    fake.on("POST", "/v1/support/tickets", (200, {"ticket": TICKET}))
    created = await run(
        mode,
        fake,
        lambda cp: cp.support.tickets.create(subject="help", message="it broke", ticket_type="bug"),
    )
    assert fake.body() == {"subject": "help", "message": "it broke", "type": "bug"}
    assert created.ticket.ticket_id == "t-1"

    fake.on("GET", "/v1/support/tickets/t-1", (200, {"ticket": TICKET}))
    got = await run(mode, fake, lambda cp: cp.support.tickets.get("t-1"))
    check_request(fake, "GET", "/v1/support/tickets/t-1")
    assert got.ticket.subject == "help"

    closed_ticket = {**TICKET, "status": "TICKET_STATUS_CLOSED"}
    fake.on("DELETE", "/v1/support/tickets/t-1", (200, {"ticket": closed_ticket}))
    closed = await run(mode, fake, lambda cp: cp.support.tickets.close("t-1"))
    check_request(fake, "DELETE", "/v1/support/tickets/t-1")
    assert closed.ticket.status is TicketStatus.CLOSED

    answered = {**TICKET, "conversations": [{"content": "more"}]}
    fake.on("POST", "/v1/support/tickets/t-1/messages", (200, {"ticket": answered}))
    added = await run(mode, fake, lambda cp: cp.support.tickets.add_message("t-1", message="more"))
    check_request(fake, "POST", "/v1/support/tickets/t-1/messages")
    assert fake.body() == {"message": "more"}
    assert added.ticket.conversations[0].content == "more"


async def test_reserved_deployment_sends_every_field(mode: str, fake: FakeControlPlane) -> None:
    fields: dict[str, Any] = {
        "full_name": "Ada Lovelace",
        "work_email": "ada@example.com",
        "company": "Engines Ltd",
        "job_title": "CTO",
        "preferred_gpu": "H100",
        "total_gpus_needed": 16,
        "deployment_timeline": "Q3",
        "workload_use_case": "RAG",
        "networking_storage": "100 Gb/s, 10 TB",
        "other_notes": "none",
    }
    fake.on("POST", "/v1/support/reserved-deployments", (200, {"requestId": "r-9"}))
    reply = await run(mode, fake, lambda cp: cp.support.reserved_deployments.submit(**fields))
    check_request(fake, "POST", "/v1/support/reserved-deployments")
    assert fake.body() == {
        "fullName": "Ada Lovelace",
        "workEmail": "ada@example.com",
        "company": "Engines Ltd",
        "jobTitle": "CTO",
        "preferredGpu": "H100",
        "totalGpusNeeded": 16,
        "deploymentTimeline": "Q3",
        "workloadUseCase": "RAG",
        "networkingStorage": "100 Gb/s, 10 TB",
        "otherNotes": "none",
    }
    assert reply.request_id == "r-9"


async def test_activities_with_times_as_datetimes_or_strings(
    mode: str, fake: FakeControlPlane
) -> None:
    fake.on("GET", "/v1/activities", (200, {"activities": [{"activityId": "a-1"}], "total": 1}))
    reply = await run(
        mode,
        fake,
        lambda cp: cp.activities.list(
            user_id="u",
            action="api_key.create",
            resource_type="api_key",
            resource_id="k-1",
            start_time=T0,
            end_time="2026-02-01T00:00:00+01:00",
            page=3,
            size=4,
        ),
    )
    assert fake.query() == {
        "userId": "u",
        "action": "api_key.create",
        "resourceType": "api_key",
        "resourceId": "k-1",
        "startTime": "2026-01-31T12:00:00Z",
        "endTime": "2026-01-31T23:00:00Z",
        "page": "3",
        "size": "4",
    }
    assert reply.activities[0].activity_id == "a-1"

    fake.on("GET", "/v1/activities/a-1", (200, {"activity": {"activityId": "a-1"}}))
    got = await run(mode, fake, lambda cp: cp.activities.get("a-1"))
    check_request(fake, "GET", "/v1/activities/a-1")
    assert got.activity.activity_id == "a-1"


async def test_a_bad_time_is_refused_before_sending(mode: str, fake: FakeControlPlane) -> None:
    with pytest.raises(tensormesh.TensormeshError, match="start_time"):
        await run(mode, fake, lambda cp: cp.activities.list(start_time="yesterday"))
    assert fake.requests == []


async def test_observability(mode: str, fake: FakeControlPlane) -> None:
    metrics = {"metrics": [{"name": "requests", "data": POINTS}]}
    fake.on("GET", "/v1/observability/users/metrics", (200, metrics))
    user = await run(
        mode,
        fake,
        lambda cp: cp.observability.users.metrics.get(
            start_time=T0, end_time=T0 + timedelta(hours=1), step_seconds=60, user_id="u"
        ),
    )
    check_request(fake, "GET", "/v1/observability/users/metrics")
    assert fake.query() == {
        "startTime": "2026-01-31T12:00:00Z",
        "endTime": "2026-01-31T13:00:00Z",
        "stepSeconds": "60",
        "userId": "u",
    }
    series = user.series("requests")
    assert series is not None
    assert series.data[0].value == 4

    fake.on("GET", "/v1/observability/deployments/m-1/metrics", (200, metrics))
    deployment = await run(
        mode,
        fake,
        lambda cp: cp.observability.deployments.metrics.get("m-1", start_time=T0, step_seconds=5),
    )
    check_request(fake, "GET", "/v1/observability/deployments/m-1/metrics")
    assert fake.query() == {"startTime": "2026-01-31T12:00:00Z", "stepSeconds": "5"}
    assert deployment.metrics[0].name == "requests"

    logs = {"logs": [{"timestamp": "2026-01-31T12:00:01Z", "message": "ready"}]}
    fake.on("GET", "/v1/observability/deployments/m-1/logs", (200, logs))
    lines = await run(
        mode,
        fake,
        lambda cp: cp.observability.deployments.logs.list(
            "m-1",
            start_time="2026-01-31T12:00:00Z",
            end_time=T0 + timedelta(minutes=5),
            limit=50,
            direction=LogDirection.BACKWARD,
        ),
    )
    check_request(fake, "GET", "/v1/observability/deployments/m-1/logs")
    assert fake.query() == {
        "startTime": "2026-01-31T12:00:00Z",
        "endTime": "2026-01-31T12:05:00Z",
        "limit": "50",
        "direction": "LOG_DIRECTION_BACKWARD",
    }
    assert lines.logs[0].message == "ready"


async def test_products(mode: str, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/products", (200, {"products": [{"id": "p-1", "requiredGpuNum": 8}]}))
    reply = await run(mode, fake, lambda cp: cp.products.list())
    check_request(fake, "GET", "/v1/products")
    assert reply.products[0].required_gpu_num == 8


async def test_admin_users(mode: str, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/admin/users", (200, {"users": [USER], "page": 1, "size": 10, "total": 1}))
    listed = await run(mode, fake, lambda cp: cp.admin.users.list(page=1, size=10))
    check_request(fake, "GET", "/v1/admin/users")
    assert fake.query() == {"page": "1", "size": "10"}
    assert listed.users[0].user_role is UserRole.ADMIN

    fake.on("POST", "/v1/admin/users/change_role", (200, {"user": USER}))
    changed = await run(
        mode,
        fake,
        lambda cp: cp.admin.users.change_role(
            target_user_id="u-2", target_user_role=UserRole.ADMIN
        ),
    )
    check_request(fake, "POST", "/v1/admin/users/change_role")
    assert fake.body() == {"targetUserId": "u-2", "targetUserRole": "USER_ROLE_ADMIN"}
    assert changed.user.user_email == "bob@example.com"


async def test_admin_products(mode: str, fake: FakeControlPlane) -> None:
    product = {"id": "p-1", "name": "8x H100", "requiredGpuNum": 8, "isActive": False}
    fake.on("GET", "/v1/admin/products", (200, {"products": [product]}))
    listed = await run(mode, fake, lambda cp: cp.admin.products.list())
    check_request(fake, "GET", "/v1/admin/products")
    assert listed.products[0].is_active is False

    fake.on("POST", "/v1/admin/products", (200, {"product": product}))
    saved = await run(
        mode,
        fake,
        lambda cp: cp.admin.products.upsert(Product(id="p-1", name="8x H100", required_gpu_num=8)),
    )
    check_request(fake, "POST", "/v1/admin/products")
    assert fake.body() == {"product": {"id": "p-1", "name": "8x H100", "requiredGpuNum": 8}}
    assert saved.product.name == "8x H100"

    await run(mode, fake, lambda cp: cp.admin.products.upsert({"name": "x", "isActive": True}))
    assert fake.body() == {"product": {"name": "x", "isActive": True}}

    fake.on("DELETE", "/v1/products/p-1", (200, {"deleted": True}))
    deleted = await run(mode, fake, lambda cp: cp.admin.products.delete("p-1"))
    check_request(fake, "DELETE", "/v1/products/p-1")
    assert deleted.deleted is True


async def test_errors_are_the_sdk_errors(mode: str, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/admin/users", (403, {"code": 7, "message": "admins only", "details": []}))
    with pytest.raises(tensormesh.PermissionDeniedError, match="admins only"):
        await run(mode, fake, lambda cp: cp.admin.users.list())
