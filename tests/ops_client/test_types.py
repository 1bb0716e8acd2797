"""Wire shapes of the operations routes: camelCase names, missing lists, enum strings."""

from __future__ import annotations

from datetime import datetime, timezone

from tensormesh.types.control_plane import UserRole
from tensormesh.types.operations import (
    Activity,
    ActivityList,
    AdminUserList,
    ChangeRoleRequest,
    Deployment,
    DeploymentList,
    DeploymentStatus,
    LogList,
    Metrics,
    Product,
    ProductList,
    Ticket,
    TicketCreate,
    TicketList,
    TicketStatus,
)


def test_deployment_reads_camel_case_and_writes_it_back() -> None:
    wire = {
        "modelId": "m-1",
        "modelName": "qwen",
        "modelPath": "/models/qwen.gguf",
        "status": "MODEL_STATUS_UP",
        "events": [{"createdAt": "2026-01-31T12:00:00Z", "log": "loaded", "eventType": "MODEL_UP"}],
        "endpoint": "http://127.0.0.1:8471/v1",
        "createdAt": "2026-01-31T11:59:00Z",
        "userId": "u-1",
        "replicaCount": 2,
    }
    model = Deployment.model_validate(wire)
    assert model.model_id == "m-1"
    assert model.model_path == "/models/qwen.gguf"
    assert model.status is DeploymentStatus.UP
    assert model.events[0].created_at == datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
    assert model.events[0].event_type == "MODEL_UP"
    out = model.to_wire()
    assert out["modelName"] == "qwen"
    assert out["events"][0]["createdAt"] == "2026-01-31T12:00:00Z"
    assert out["replicaCount"] == 2  # unknown fields are kept
    assert "model_name" not in out


def test_unknown_enum_strings_are_kept_as_strings() -> None:
    assert Deployment.model_validate({"status": "MODEL_STATUS_PAUSED"}).status == (
        "MODEL_STATUS_PAUSED"
    )
    assert Ticket.model_validate({"status": "TICKET_STATUS_PENDING"}).status == (
        "TICKET_STATUS_PENDING"
    )
    assert Ticket.model_validate({"status": "TICKET_STATUS_CLOSED"}).status is TicketStatus.CLOSED


def test_missing_lists_read_as_empty() -> None:
    assert DeploymentList.model_validate({}).models == []
    assert TicketList.model_validate({"page": 1}).tickets == []
    assert ActivityList.model_validate({}).activities == []
    assert AdminUserList.model_validate({}).users == []
    assert ProductList.model_validate({}).products == []
    assert Metrics.model_validate({"metrics": [{"name": "requests"}]}).metrics[0].data == []
    assert LogList.model_validate({}).logs == []
    assert Ticket.model_validate({"ticketId": "t"}).conversations == []
    assert Deployment.model_validate({}).events == []


def test_page_counters_accept_int64_strings() -> None:
    reply = TicketList.model_validate({"tickets": [], "page": "2", "size": "10", "total": "31"})
    assert (reply.page, reply.size, reply.total) == (2, 10, 31)


def test_ticket_type_travels_as_type() -> None:
    ticket = Ticket.model_validate(
        {
            "ticketId": "t-1",
            "type": "billing",
            "requesterUserId": "u-1",
            "conversations": [{"userName": "Ada", "userRole": "USER_ROLE_USER", "content": "hi"}],
        }
    )
    assert ticket.type == "billing"
    assert ticket.requester_user_id == "u-1"
    assert ticket.conversations[0].user_name == "Ada"
    body = TicketCreate(subject="s", message="m", ticket_type="billing")
    assert body.model_dump(by_alias=True, exclude_unset=True) == {
        "subject": "s",
        "message": "m",
        "type": "billing",
    }


def test_activity_and_product_fields() -> None:
    activity = Activity.model_validate(
        {
            "activityId": "a-1",
            "actorType": "ACTOR_TYPE_USER",
            "resourceType": "api_key",
            "metadata": {"name": "ci"},
            "occurredAt": "2026-01-31T12:00:00.250Z",
        }
    )
    assert activity.metadata == {"name": "ci"}
    assert activity.occurred_at is not None
    assert activity.occurred_at.microsecond == 250000
    product = Product.model_validate(
        {"id": "p", "requiredGpuNum": 8, "isActive": True, "spec": {"gpu": "H100"}}
    )
    assert (product.required_gpu_num, product.is_active) == (8, True)
    assert product.to_wire() == {
        "id": "p",
        "requiredGpuNum": 8,
        "isActive": True,
        "spec": {"gpu": "H100"},
    }


def test_metrics_series_lookup() -> None:
    metrics = Metrics.model_validate(
        {
            "metrics": [
                {"name": "requests", "data": [{"timestamp": "2026-01-31T12:00:00Z", "value": 3}]},
                {"name": "latency_p50_ms", "data": [{"timestamp": "2026-01-31T12:00:00Z"}]},
            ]
        }
    )
    requests = metrics.series("requests")
    assert requests is not None
    assert requests.data[0].value == 3.0
    assert metrics.series("errors") is None


def test_change_role_accepts_the_enum_or_its_string() -> None:
    enum_body = ChangeRoleRequest(target_user_id="u", target_user_role=UserRole.ADMIN)
    text_body = ChangeRoleRequest(target_user_id="u", target_user_role="USER_ROLE_ADMIN")
    assert (
        enum_body.to_wire()
        == text_body.to_wire()
        == {
            "targetUserId": "u",
            "targetUserRole": "USER_ROLE_ADMIN",
        }
    )
