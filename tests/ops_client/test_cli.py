"""Every operations command of `tm`, in text and JSON output, against a fake control plane
reached through the SDK's transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from tensormesh.types.operations import Deployment, Product

from .conftest import TOKEN, FakeControlPlane, Tm, page, paged

MODEL = {
    "modelId": "m-1",
    "modelName": "qwen",
    "status": "MODEL_STATUS_UP",
    "endpoint": "http://127.0.0.1:8471/v1",
    "createdAt": "2026-01-31T12:00:00Z",
    "events": [
        {"createdAt": "2026-01-31T12:00:00Z", "eventType": "DEPLOYING", "log": "starting"},
        {"createdAt": "2026-01-31T12:00:05Z", "eventType": "UP", "log": "2 replicas healthy"},
    ],
}
TICKET = {
    "ticketId": "t-1",
    "subject": "GPU quota",
    "status": "TICKET_STATUS_OPEN",
    "type": "billing",
    "conversations": [
        {
            "userName": "Ada",
            "userRole": "USER_ROLE_USER",
            "content": "need more",
            "createdAt": "2026-01-31T12:00:00Z",
        },
        {"userName": "Ops", "userRole": "USER_ROLE_ADMIN", "content": "done"},
    ],
}
USER = {"id": "u-2", "userEmail": "bob@example.com", "userRole": "USER_ROLE_USER"}
PRODUCT = {
    "id": "p-1",
    "name": "8x H100",
    "family": "H100",
    "requiredGpuNum": 8,
    "isActive": True,
    "spec": {"memory": "80GB"},
}


def ok(result: Result) -> str:
    """The stdout of a command that succeeded without a traceback."""
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.output
    return result.stdout


# -- models -----------------------------------------------------------------------------------


def test_models_list_text_and_json(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/models", (200, page("models", [MODEL], 1, 1, 3)))
    result = tm("models", "list", "--size", "1", "--user-id", "u-1")
    text = ok(result)
    assert text.splitlines()[0].split() == ["ID", "NAME", "STATUS", "ENDPOINT", "CREATED"]
    assert "m-1" in text
    assert "UP" in text
    assert "MODEL_STATUS_UP" not in text
    assert "--page 2 for more" in result.stderr
    assert fake.query() == {"size": "1", "userId": "u-1"}
    assert fake.last.headers["authorization"] == f"Bearer {TOKEN}"
    data = tm.json("models", "list", "--page", "2", "--size", "1")
    expected = Deployment.model_validate(MODEL).model_dump(mode="json", exclude_unset=True)
    assert data == {"models": [expected], "page": 1, "size": 1, "total": 3}
    assert expected["model_id"] == "m-1"
    assert expected["events"][1]["event_type"] == "UP"
    assert fake.query() == {"page": "2", "size": "1"}


@pytest.mark.parametrize("count", [0, 1, 5])
def test_models_list_all_pages(tm: Tm, fake: FakeControlPlane, count: int) -> None:
    items = [{**MODEL, "modelId": f"m-{n}"} for n in range(count)]
    fake.on("GET", "/v1/models", paged("models", items))
    text = ok(tm("models", "list", "--all"))
    if count == 0:
        assert "(no models deployed)" in text
    assert [line.split()[0] for line in text.splitlines()[1:]] == [f"m-{n}" for n in range(count)]
    data = tm.json("models", "list", "--all", "--size", "2")
    assert [item["model_id"] for item in data["models"]] == [f"m-{n}" for n in range(count)]
    assert data["total"] == count


def test_page_and_all_together_is_a_usage_error(tm: Tm) -> None:
    result = tm("models", "list", "--all", "--page", "2")
    assert result.exit_code == 2
    assert "--page or --all" in result.stderr


def test_models_get_shows_events(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/models/m-1", (200, {"model": MODEL}))
    text = ok(tm("models", "get", "m-1"))
    assert "name: qwen" in text
    assert "status: UP" in text
    assert "2 replicas healthy" in text
    assert tm.json("models", "get", "m-1")["model_id"] == "m-1"


def test_models_deploy(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("POST", "/v1/models", (200, {"model": {**MODEL, "status": "MODEL_STATUS_DEPLOYING"}}))
    result = tm(
        "models", "deploy", "--name", "qwen", "--engine", "openai", "--path", "Qwen/Qwen3-8B",
        "--upstream-url", "http://a/v1", "--upstream-url", "http://b/v1", "--max-model-len", "4096",
    )  # fmt: skip
    text = ok(result)
    assert fake.body() == {
        "modelName": "qwen",
        "engine": "openai",
        "modelPath": "Qwen/Qwen3-8B",
        "upstreamUrls": ["http://a/v1", "http://b/v1"],
        "maxModelLen": 4096,
    }
    assert "Deploying qwen as m-1" in result.stderr
    assert "status: DEPLOYING" in text
    assert tm.json("models", "deploy", "--name", "qwen")["status"] == "MODEL_STATUS_DEPLOYING"
    assert fake.body() == {"modelName": "qwen"}


def test_models_delete(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("DELETE", "/v1/models/m-1", (200, {}))
    result = tm("models", "delete", "m-1")
    assert ok(result) == ""
    assert "Deleted model m-1" in result.stderr
    assert tm.json("models", "delete", "m-1") == {"deleted": "m-1"}


def test_models_validate_name(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("POST", "/v1/models:validate", (200, {"isValid": True}), (200, {}))
    assert ok(tm("models", "validate-name", "qwen")) == "valid\n"
    invalid = tm("models", "validate-name", "bad name")
    assert invalid.exit_code == 1
    assert invalid.stdout == "not valid\n"
    assert fake.body() == {"modelName": "bad name"}
    result = tm("--output", "json", "models", "validate-name", "x")
    assert json.loads(result.stdout) == {"model_name": "x", "is_valid": False}


def test_a_missing_model_is_one_line(tm: Tm, fake: FakeControlPlane) -> None:
    result = tm("models", "get", "nope")
    assert result.exit_code == 1
    assert "no route GET /v1/models/nope" in result.stderr
    assert "Traceback" not in result.output


# -- tickets ----------------------------------------------------------------------------------


def test_tickets_list(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/support/tickets", (200, page("tickets", [TICKET], 1, 10, 1)))
    text = ok(tm("tickets", "list", "--status", "open"))
    assert fake.query() == {"status": "TICKET_STATUS_OPEN"}
    row = text.splitlines()[1].split()
    assert row[0] == "t-1"
    assert "OPEN" in row
    assert "2" in row
    data = tm.json("tickets", "list", "--status", "closed", "--user-id", "u-9")
    assert fake.query() == {"status": "TICKET_STATUS_CLOSED", "userId": "u-9"}
    assert data["tickets"][0]["ticket_id"] == "t-1"


@pytest.mark.parametrize("count", [0, 1, 3])
def test_tickets_list_all(tm: Tm, fake: FakeControlPlane, count: int) -> None:
    fake.on(
        "GET",
        "/v1/support/tickets",
        paged("tickets", [{**TICKET, "ticketId": f"t-{n}"} for n in range(count)]),
    )
    data = tm.json("tickets", "list", "--all")
    assert [t["ticket_id"] for t in data["tickets"]] == [f"t-{n}" for n in range(count)]
    text = ok(tm("tickets", "list", "--all"))
    assert ("(no tickets)" in text) == (count == 0)


def test_tickets_get_shows_the_conversation(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/support/tickets/t-1", (200, {"ticket": TICKET}))
    text = ok(tm("tickets", "get", "t-1"))
    assert "subject: GPU quota" in text
    assert "--- Ada (user), 2026-01-31T12:00:00Z\nneed more" in text
    assert "--- Ops (admin), -\ndone" in text
    assert tm.json("tickets", "get", "t-1")["conversations"][1]["content"] == "done"


def test_tickets_create(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("POST", "/v1/support/tickets", (200, {"ticket": TICKET}))
    result = tm(
        "tickets", "create", "--subject", "GPU quota", "-m", "need more", "--type", "billing"
    )
    ok(result)
    assert fake.body() == {"subject": "GPU quota", "message": "need more", "type": "billing"}
    assert "Opened ticket t-1" in result.stderr
    piped = tm(
        "--output", "json", "tickets", "create", "--subject", "s", "-m", "-", input="from stdin\n"
    )
    assert json.loads(ok(piped))["ticket_id"] == "t-1"
    assert fake.body() == {"subject": "s", "message": "from stdin"}


def test_tickets_create_without_a_terminal_names_the_missing_option(
    tm: Tm, fake: FakeControlPlane
) -> None:
    result = tm("tickets", "create", "--subject", "s")
    assert result.exit_code == 2
    assert "missing --message" in result.stderr
    assert fake.requests == []


def test_tickets_message_and_close(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("POST", "/v1/support/tickets/t-1/messages", (200, {"ticket": TICKET}))
    result = tm("tickets", "message", "t-1", "thanks")
    assert "need more" in ok(result)
    assert fake.body() == {"message": "thanks"}
    assert tm.json("tickets", "message", "t-1", "again")["ticket_id"] == "t-1"
    closed = {**TICKET, "status": "TICKET_STATUS_CLOSED"}
    fake.on("DELETE", "/v1/support/tickets/t-1", (200, {"ticket": closed}))
    result = tm("tickets", "close", "t-1")
    assert "status: CLOSED" in ok(result)
    assert "Closed ticket t-1" in result.stderr
    assert tm.json("tickets", "close", "t-1")["status"] == "TICKET_STATUS_CLOSED"


# -- reserved deployments ---------------------------------------------------------------------

FLAGS = [
    "--full-name", "Ada Lovelace", "--work-email", "ada@example.com", "--company", "Engines",
    "--preferred-gpu", "H100", "--total-gpus-needed", "16", "--workload-use-case", "RAG",
    "--job-title", "CTO", "--deployment-timeline", "Q3", "--networking-storage", "10 TB",
    "--other-notes", "none",
]  # fmt: skip


def test_reserved_deployments_submit(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("POST", "/v1/support/reserved-deployments", (200, {"requestId": "r-1"}))
    result = tm("reserved-deployments", "submit", *FLAGS)
    assert ok(result) == "request id: r-1\n"
    assert fake.body() == {
        "fullName": "Ada Lovelace",
        "workEmail": "ada@example.com",
        "company": "Engines",
        "preferredGpu": "H100",
        "totalGpusNeeded": 16,
        "workloadUseCase": "RAG",
        "jobTitle": "CTO",
        "deploymentTimeline": "Q3",
        "networkingStorage": "10 TB",
        "otherNotes": "none",
    }
    assert tm.json("reserved-deployments", "submit", *FLAGS) == {"request_id": "r-1"}


def test_reserved_deployments_without_a_terminal_does_not_prompt(
    tm: Tm, fake: FakeControlPlane
) -> None:
    result = tm("reserved-deployments", "submit", "--full-name", "Ada")
    assert result.exit_code == 2
    assert "missing --work-email" in result.stderr
    assert fake.requests == []


def test_reserved_deployments_prompts_on_a_terminal(
    tm: Tm, fake: FakeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tensormesh_cli.prompting.interactive", lambda: True)
    fake.on("POST", "/v1/support/reserved-deployments", (200, {"requestId": "r-2"}))
    answers = "ada@example.com\nEngines\nH100\n8\nchat\n"
    result = tm("reserved-deployments", "submit", "--full-name", "Ada", input=answers)
    assert ok(result) == "request id: r-2\n"
    assert fake.body() == {
        "fullName": "Ada",
        "workEmail": "ada@example.com",
        "company": "Engines",
        "preferredGpu": "H100",
        "totalGpusNeeded": 8,
        "workloadUseCase": "chat",
    }


# -- activities, products ---------------------------------------------------------------------

ACTIVITY = {
    "activityId": "a-1",
    "actorDisplay": "ada@example.com",
    "action": "api_key.create",
    "resourceType": "api_key",
    "resourceId": "k-1",
    "description": "created key ci",
    "metadata": {"name": "ci"},
    "occurredAt": "2026-01-31T12:00:00Z",
}


def test_activities_list(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/activities", (200, page("activities", [ACTIVITY], 1, 20, 1)))
    text = ok(
        tm(
            "activities",
            "list",
            "--action",
            "api_key.create",
            "--since",
            "2026-01-30T00:00:00Z",
            "--until",
            "2026-02-01T00:00:00+01:00",
            "--resource-type",
            "api_key",
            "--resource-id",
            "k-1",
            "--user-id",
            "u-1",
        )
    )
    assert fake.query() == {
        "action": "api_key.create",
        "startTime": "2026-01-30T00:00:00Z",
        "endTime": "2026-01-31T23:00:00Z",
        "resourceType": "api_key",
        "resourceId": "k-1",
        "userId": "u-1",
    }
    assert "api_key/k-1" in text
    assert "ada@example.com" in text
    data = tm.json("activities", "list")
    assert data["activities"][0]["metadata"] == {"name": "ci"}


@pytest.mark.parametrize("count", [0, 1, 5])
def test_activities_list_all(tm: Tm, fake: FakeControlPlane, count: int) -> None:
    fake.on(
        "GET",
        "/v1/activities",
        paged("activities", [{**ACTIVITY, "activityId": f"a-{n}"} for n in range(count)]),
    )
    data = tm.json("activities", "list", "--all")
    assert [a["activity_id"] for a in data["activities"]] == [f"a-{n}" for n in range(count)]


def test_activities_bad_time_is_a_usage_error(tm: Tm, fake: FakeControlPlane) -> None:
    result = tm("activities", "list", "--since", "last tuesday")
    assert result.exit_code == 2
    assert "--since 'last tuesday' is not a time" in result.stderr
    assert fake.requests == []


def test_activities_get(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/activities/a-1", (200, {"activity": ACTIVITY}))
    text = ok(tm("activities", "get", "a-1"))
    assert "action: api_key.create" in text
    assert 'metadata: {"name":"ci"}' in text
    assert tm.json("activities", "get", "a-1")["activity_id"] == "a-1"


def test_products_list(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/products", (200, {"products": [PRODUCT]}))
    text = ok(tm("products", "list"))
    assert text.splitlines()[1].split()[:4] == ["p-1", "8x", "H100", "H100"]
    assert '{"memory":"80GB"}' in text
    expected = Product.model_validate(PRODUCT).model_dump(mode="json", exclude_unset=True)
    assert tm.json("products", "list") == {"products": [expected], "total": 1}
    fake.on("GET", "/v1/products", (200, {}))
    assert "(no products)" in ok(tm("products", "list"))


# -- admin ------------------------------------------------------------------------------------


def test_admin_users_list(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/admin/users", (200, page("users", [USER], 1, 50, 1)))
    text = ok(tm("admin", "users", "list"))
    assert text.splitlines()[1].split() == ["u-2", "bob@example.com", "-", "user", "-"]
    assert tm.json("admin", "users", "list")["users"][0]["user_email"] == "bob@example.com"


@pytest.mark.parametrize("count", [0, 1, 7])
def test_admin_users_list_all(tm: Tm, fake: FakeControlPlane, count: int) -> None:
    fake.on(
        "GET", "/v1/admin/users", paged("users", [{**USER, "id": f"u-{n}"} for n in range(count)])
    )
    data = tm.json("admin", "users", "list", "--all", "--size", "3")
    assert [u["id"] for u in data["users"]] == [f"u-{n}" for n in range(count)]
    assert len(fake.requests) == max(1, -(-count // 3))


def test_admin_users_change_role(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on(
        "POST",
        "/v1/admin/users/change_role",
        (200, {"user": {**USER, "userRole": "USER_ROLE_SUPER_ADMIN"}}),
    )
    result = tm("admin", "users", "change-role", "u-2", "super-admin")
    assert "role: super-admin" in ok(result)
    assert "bob@example.com is now super-admin" in result.stderr
    assert fake.body() == {"targetUserId": "u-2", "targetUserRole": "USER_ROLE_SUPER_ADMIN"}
    assert (
        tm.json("admin", "users", "change-role", "u-2", "admin")["user_role"]
        == "USER_ROLE_SUPER_ADMIN"
    )
    assert fake.body()["targetUserRole"] == "USER_ROLE_ADMIN"
    assert tm("admin", "users", "change-role", "u-2", "root").exit_code == 2


def test_admin_users_refused_for_non_admins(tm: Tm, fake: FakeControlPlane) -> None:
    fake.on("GET", "/v1/admin/users", (403, {"code": 7, "message": "admins only"}))
    result = tm("admin", "users", "list")
    assert result.exit_code == 1
    assert "admins only" in result.stderr
    assert "Traceback" not in result.output


def test_admin_products_list_upsert_delete(tm: Tm, fake: FakeControlPlane, tmp_path: Path) -> None:
    fake.on("GET", "/v1/admin/products", (200, {"products": [PRODUCT]}))
    assert "p-1" in ok(tm("admin", "products", "list"))
    assert tm.json("admin", "products", "list")["products"][0]["id"] == "p-1"

    fake.on("POST", "/v1/admin/products", (200, {"product": PRODUCT}))
    result = tm(
        "admin",
        "products",
        "upsert",
        "--id",
        "p-1",
        "--name",
        "8x H100",
        "--required-gpu-num",
        "8",
        "--inactive",
        "--spec",
        '{"memory": "80GB"}',
    )
    assert "name: 8x H100" in ok(result)
    assert fake.body() == {
        "product": {
            "id": "p-1",
            "name": "8x H100",
            "requiredGpuNum": 8,
            "isActive": False,
            "spec": {"memory": "80GB"},
        }
    }
    piped = tm(
        "--output",
        "json",
        "admin",
        "products",
        "upsert",
        "--file",
        "-",
        "--family",
        "A100",
        input='{"name": "x", "requiredGpuNum": 1}',
    )
    assert json.loads(ok(piped))["id"] == "p-1"
    assert fake.body() == {"product": {"name": "x", "requiredGpuNum": 1, "family": "A100"}}
    product_file = tmp_path / "product.json"
    product_file.write_text('{"id": "p-1", "spec": {"gpus": 8}}')
    ok(tm("admin", "products", "upsert", "--file", str(product_file), "--active"))
    assert fake.body() == {"product": {"id": "p-1", "spec": {"gpus": 8}, "isActive": True}}
    missing = tm("admin", "products", "upsert", "--file", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    bad = tm("admin", "products", "upsert", "--spec", "[1]")
    assert bad.exit_code == 2
    assert "--spec must be a JSON object" in bad.stderr
    assert tm("admin", "products", "upsert").exit_code == 2

    fake.on("DELETE", "/v1/products/p-1", (200, {"deleted": True}))
    result = tm("admin", "products", "delete", "p-1")
    assert ok(result) == ""
    assert "Deleted product p-1" in result.stderr
    assert tm.json("admin", "products", "delete", "p-1") == {"id": "p-1", "deleted": True}


def test_commands_without_a_login_say_how_to_log_in(
    tm: Tm, fake: FakeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TENSORMESH_CONTROL_PLANE_TOKEN")
    for args in (("models", "list"), ("tickets", "list"), ("logs", "m-1"), ("metrics", "user")):
        result = tm(*args)
        assert result.exit_code == 4, args
        assert "tm auth login" in result.stderr
    assert fake.requests == []


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """`tm models deploy --wait` polls without sleeping; the sleeps are recorded."""
    from tensormesh_cli.commands import models as models_module

    sleeps: list[float] = []
    monkeypatch.setattr(models_module, "sleep", sleeps.append)
    return sleeps


DEPLOYING = {**MODEL, "status": "MODEL_STATUS_DEPLOYING", "events": []}


def test_models_deploy_wait_until_up(
    tm: Tm, fake: FakeControlPlane, no_waiting: list[float]
) -> None:
    fake.on("POST", "/v1/models", (200, {"model": DEPLOYING}))
    fake.on("GET", "/v1/models/m-1", (200, {"model": DEPLOYING}), (200, {"model": MODEL}))
    result = tm("models", "deploy", "--name", "qwen", "--wait")
    assert "status: UP" in ok(result)
    assert no_waiting == [1.0, 1.0]


def test_models_deploy_wait_reports_why_it_went_down(
    tm: Tm, fake: FakeControlPlane, no_waiting: list[float]
) -> None:
    down = {
        **MODEL,
        "status": "MODEL_STATUS_DOWN",
        "events": [
            {"createdAt": "2026-01-31T12:00:09Z", "log": "no such file: /m.gguf"},
            {"createdAt": "2026-01-31T12:00:00Z", "log": "loading"},
        ],
    }
    fake.on("POST", "/v1/models", (200, {"model": DEPLOYING}))
    fake.on("GET", "/v1/models/m-1", (200, {"model": down}))
    result = tm("models", "deploy", "--name", "qwen", "--engine", "embedded", "--wait")
    assert result.exit_code == 1
    assert "status: DOWN" in result.stdout
    assert "Error: model m-1 is DOWN: no such file: /m.gguf" in result.stderr


def test_models_deploy_wait_gives_up_after_its_timeout(
    tm: Tm, fake: FakeControlPlane, no_waiting: list[float]
) -> None:
    fake.on("POST", "/v1/models", (200, {"model": DEPLOYING}))
    fake.on("GET", "/v1/models/m-1", (200, {"model": DEPLOYING}))
    result = tm("models", "deploy", "--name", "qwen", "--wait", "--wait-timeout", "3")
    assert result.exit_code == 1
    assert "still DEPLOYING after 3 s" in result.stderr
    assert len(no_waiting) == 3


def test_tickets_create_asks_on_a_terminal(
    tm: Tm, fake: FakeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tensormesh_cli.prompting.interactive", lambda: True)
    fake.on("POST", "/v1/support/tickets", (200, {"ticket": TICKET}))
    result = tm("tickets", "create", input="Slow model\nIt takes 10 s per token\n")
    ok(result)
    assert fake.body() == {"subject": "Slow model", "message": "It takes 10 s per token"}
    empty = tm("tickets", "message", "t-1", "   ")
    assert empty.exit_code == 2
    assert "TEXT must not be empty" in empty.stderr
