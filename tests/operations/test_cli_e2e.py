"""Every `tm` command of issue 5 against a real server (SQLite and PostgreSQL), in text and in
JSON; every list command empty, on one page, and over several pages."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tensormesh.types.control_plane import UserRole
from tensormesh_cli.main import cli
from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.services import tokens, users
from tensormesh_server.controlplane.services.activities import OPERATOR
from tensormesh_server.store.database import Database
from tests.operations.e2e_support import replicas, sqlite_url, wait_for
from tests.support.servers import RunningServer, running_server

pytestmark = pytest.mark.slow


@dataclass
class Platform:
    server: RunningServer
    db_url: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    directory = tmp_path_factory.mktemp("cli-e2e")
    if request.param == "sqlite":
        url = sqlite_url(directory)
    else:
        url = str(request.getfixturevalue("postgres").create())
    env = {"TENSORMESH_DATABASE_URL": url}
    with running_server(directory, args=["--no-embedded"], env=env) as server:
        yield Platform(server, url)


class Tm:
    """`tm` in-process, signed in as one user, talking to the real server."""

    def __init__(self, platform: Platform, token: str, home: Path) -> None:
        self.env = {
            "TENSORMESH_CONTROL_PLANE_TOKEN": token,
            "TENSORMESH_CONTROL_PLANE_BASE_URL": platform.server.controlplane_url,
            "TENSORMESH_SERVERLESS_BASE_URL": platform.server.serverless_url,
            "TENSORMESH_INFERENCE_API_KEY": platform.server.api_key,
            "TM_CONFIG_HOME": str(home),
            "NO_COLOR": "1",
        }

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, list(args), env=self.env)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    def text(self, *args: str) -> str:
        return self(*args).output

    def json(self, *args: str) -> Any:
        return json.loads(self("--output", "json", *args).stdout)


_counter = iter(range(10**6))


def signed_in(platform: Platform, tmp_path: Path, role: UserRole = UserRole.USER) -> Tm:
    """A new user (or the first admin) with an access token."""
    db = Database(platform.db_url)
    now = datetime.now(timezone.utc)
    try:
        with db.session() as session:
            if role is UserRole.SUPER_ADMIN:
                user = users.find_by_email(session, "admin@localhost")
                assert user is not None
            else:
                email = f"user{next(_counter)}-{os.getpid()}@example.com"
                user = users.create_user(session, email, now=now, actor=OPERATOR, role=role.value)
            issued = tokens.issue(
                session, user, now=now, config=ControlPlaneConfig(), family_id=tokens.new_family()
            )
    finally:
        db.dispose()
    return Tm(platform, issued.access_token, tmp_path / f"cfg{next(_counter)}")


@pytest.fixture
def admin(platform: Platform, tmp_path: Path) -> Tm:
    return signed_in(platform, tmp_path, UserRole.SUPER_ADMIN)


@pytest.fixture
def user(platform: Platform, tmp_path: Path) -> Tm:
    return signed_in(platform, tmp_path)


def profile_id(tm: Tm) -> str:
    """The id of the user `tm` is signed in as."""
    from tensormesh import Tensormesh

    with Tensormesh(
        control_plane_token=tm.env["TENSORMESH_CONTROL_PLANE_TOKEN"],
        control_plane_base_url=tm.env["TENSORMESH_CONTROL_PLANE_BASE_URL"],
        env={},
    ) as client:
        return client.control_plane.users.get_auth_profile().user.id


def test_models_logs_metrics(admin: Tm, user: Tm) -> None:
    assert "(no models deployed)" in user.text("models", "list")
    assert user.json("models", "list")["total"] == 0
    owner = profile_id(user)
    with replicas("one") as (replica,):
        names = [f"cli-{next(_counter)}" for _ in range(3)]
        ids = []
        for name in names:
            deployed = admin.json(
                "models", "deploy", "--name", name, "--engine", "openai",
                "--upstream-url", replica.url, "--wait", "--wait-timeout", "20",
            )  # fmt: skip
            assert deployed["status"] == "MODEL_STATUS_UP"
            ids.append(deployed["model_id"])
        text = admin.text("models", "deploy", "--name", "cli-text", "--upstream-url", replica.url)
        assert "Deploying cli-text as" in text
        assert admin.json("models", "list", "--user-id", owner)["total"] == 0
        one_page = admin.json("models", "list", "--size", "100")
        assert {m["model_name"] for m in one_page["models"]} >= set(names)
        assert "cli-text" in admin.text("models", "list")
        first = admin("models", "list", "--size", "2")
        assert "--page 2 for more" in first.output
        every = admin.json("models", "list", "--all", "--size", "2")
        assert every["total"] == one_page["total"] >= 4
        second = admin.json("models", "list", "--page", "2", "--size", "2")
        assert second["page"] == 2
        assert len(second["models"]) == 2
        shown = admin.text("models", "get", ids[0])
        assert "UP" in shown
        assert "events:" in shown
        assert admin.json("models", "get", ids[0])["model_id"] == ids[0]
        assert "not valid" in admin("models", "validate-name", names[0], code=1).stdout
        assert admin.json("models", "validate-name", "free-name-x")["is_valid"] is True
        user("models", "get", ids[0], code=1)

        wait_for(lambda: bool(_served(admin, names[0])), 10.0, "the model on the gateway")
        wait_for(
            lambda: "POST /v1/chat/completions 200" in admin.text("logs", ids[0]),
            10.0,
            "the request's log line",
        )
        lines = admin.json("logs", ids[0])
        assert any("serving" in line["message"] for line in lines["logs"])
        assert "requests" in admin.text("metrics", "user")
        assert {m["name"] for m in admin.json("metrics", "user")["metrics"]} >= {"errors"}
        assert "requests" in admin.text("metrics", "deployment", ids[0], "--window", "15m")
        series = admin.json("metrics", "deployment", ids[0], "--window", "15m")
        assert {m["name"] for m in series["metrics"]} >= {"requests", "latency_p50_ms"}

        assert "Deleted model" in admin.text("models", "delete", ids[0])
        assert admin.json("models", "delete", ids[1]) == {"deleted": ids[1]}
        for model in admin.json("models", "list", "--all")["models"]:
            admin("models", "delete", model["model_id"])
        assert admin.json("models", "list")["total"] == 0


def _served(tm: Tm, model: str) -> str:
    result = CliRunner().invoke(
        cli, ["infer", "chat", "--model", model, "--no-stream", "hello"], env=tm.env
    )
    return result.stdout if result.exit_code == 0 else ""


def test_tickets_and_reserved_deployments(admin: Tm, user: Tm) -> None:
    assert "(no tickets)" in user.text("tickets", "list")
    assert user.json("tickets", "list")["total"] == 0
    opened = user.text(
        "tickets", "create", "--subject", "first", "--message", "hello", "--type", "bug"
    )
    assert "Opened ticket" in opened
    ticket = user.json("tickets", "create", "--subject", "second", "--message", "hi")
    ticket_id = ticket["ticket_id"]
    assert ticket["status"] == "TICKET_STATUS_OPEN"
    one = user.json("tickets", "list")
    assert (one["total"], len(one["tickets"])) == (2, 2)
    assert "second" in user.text("tickets", "list")
    user.json("tickets", "create", "--subject", "third", "--message", "x")
    paged = user("tickets", "list", "--size", "2")
    assert "--page 2 for more" in paged.output
    assert len(user.json("tickets", "list", "--page", "2", "--size", "2")["tickets"]) == 1
    assert user.json("tickets", "list", "--all", "--size", "1")["total"] == 3
    assert "Added a message" in admin.text("tickets", "message", ticket_id, "we are on it")
    replied = user.json("tickets", "message", ticket_id, "thanks")
    assert [m["content"] for m in replied["conversations"]] == ["hi", "we are on it", "thanks"]
    assert "we are on it" in user.text("tickets", "get", ticket_id)
    assert user.json("tickets", "get", ticket_id)["ticket_id"] == ticket_id
    assert "Closed ticket" in user.text("tickets", "close", ticket_id)
    assert user.json("tickets", "close", ticket_id)["status"] == "TICKET_STATUS_CLOSED"
    closed = user.json("tickets", "list", "--status", "closed")
    assert closed["total"] == 1
    assert admin.json("tickets", "list", "--user-id", profile_id(user))["total"] == 3

    fields = [
        "--full-name", "Ada", "--work-email", "ada@example.com", "--company", "Acme",
        "--preferred-gpu", "H100", "--total-gpus-needed", "8", "--workload-use-case", "chat",
    ]  # fmt: skip
    assert "request id:" in user.text("reserved-deployments", "submit", *fields)
    request_id = user.json("reserved-deployments", "submit", *fields)["request_id"]
    assert request_id


def test_activities(admin: Tm, user: Tm) -> None:
    nothing = user.json("activities", "list", "--action", "no.such.action")
    assert nothing["total"] == 0
    assert "(no activities)" in user.text("activities", "list", "--action", "no.such.action")
    for subject in ("a", "b", "c"):
        user("tickets", "create", "--subject", subject, "--message", "m")
    mine = user.json("activities", "list", "--action", "ticket.create")
    assert mine["total"] == 3
    assert "ticket.create" in user.text("activities", "list", "--action", "ticket.create")
    paged = user("activities", "list", "--action", "ticket.create", "--size", "2")
    assert "--page 2 for more" in paged.output
    every = user.json("activities", "list", "--action", "ticket.create", "--all", "--size", "2")
    assert every["total"] == 3
    activity_id = mine["activities"][0]["activity_id"]
    assert user.json("activities", "get", activity_id)["activity_id"] == activity_id
    assert "ticket.create" in user.text("activities", "get", activity_id)
    owner = profile_id(user)
    assert (
        admin.json("activities", "list", "--user-id", owner, "--action", "ticket.create")["total"]
        == 3
    )
    user("activities", "list", "--user-id", profile_id(admin), code=1)


def test_products(admin: Tm, user: Tm) -> None:
    for product in admin.json("admin", "products", "list")["products"]:
        admin("admin", "products", "delete", product["id"])
    assert "(no products)" in user.text("products", "list")
    assert user.json("products", "list")["products"] == []
    saved = admin.text(
        "admin", "products", "upsert", "--id", "h100x8", "--name", "H100 x8",
        "--family", "H100", "--required-gpu-num", "8", "--spec", '{"memory": "80GB"}',
    )  # fmt: skip
    assert "Saved product h100x8" in saved
    hidden = admin.json("admin", "products", "upsert", "--id", "old", "--name", "Old", "--inactive")
    assert hidden["is_active"] is False
    assert [p["id"] for p in user.json("products", "list")["products"]] == ["h100x8"]
    assert "H100 x8" in user.text("products", "list")
    assert {p["id"] for p in admin.json("admin", "products", "list")["products"]} == {
        "h100x8",
        "old",
    }
    assert "Old" in admin.text("admin", "products", "list")
    user("admin", "products", "list", code=1)
    assert "Deleted product old" in admin.text("admin", "products", "delete", "old")
    assert admin.json("admin", "products", "delete", "h100x8")["deleted"] is True
    assert admin.json("admin", "products", "list")["products"] == []


def test_admin_users(admin: Tm, user: Tm, platform: Platform, tmp_path: Path) -> None:
    signed_in(platform, tmp_path)
    listing = admin.json("admin", "users", "list")
    assert listing["total"] >= 3
    assert "admin@localhost" in admin.text("admin", "users", "list")
    paged = admin("admin", "users", "list", "--size", "1")
    assert "--page 2 for more" in paged.output
    assert admin.json("admin", "users", "list", "--all", "--size", "1")["total"] == listing["total"]
    target = profile_id(user)
    promoted = admin.json("admin", "users", "change-role", target, "admin")
    assert promoted["user_role"] == "USER_ROLE_ADMIN"
    assert "is now" in admin.text("admin", "users", "change-role", target, "user")
    user("admin", "users", "list", code=1)
    refused = admin("admin", "users", "change-role", profile_id(admin), "user", code=1)
    assert "last super admin" in refused.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_work(shell: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0
    script = tmp_path / f"tm.{shell}"
    script.write_text(result.stdout)
    if shell == "bash":
        checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False)
        assert checked.returncode == 0, checked.stderr
    assert "tm" in result.stdout


def test_logs_follow_prints_only_new_lines_until_interrupted(admin: Tm) -> None:
    """`tm logs -f` as a real process: the existing lines once, then each new line once as
    requests arrive, and Ctrl-C ends it with one line and exit 130."""
    import signal
    import sys
    import threading
    import time

    with replicas("follow") as (replica,):
        name = f"follow-{next(_counter)}"
        deployed = admin.json(
            "models", "deploy", "--name", name, "--engine", "openai",
            "--upstream-url", replica.url, "--wait", "--wait-timeout", "20",
        )  # fmt: skip
        model_id = deployed["model_id"]
        wait_for(lambda: bool(_served(admin, name)), 10.0, "the model on the gateway")
        served = "POST /v1/chat/completions 200"

        def logged() -> int:
            return sum(served in line["message"] for line in admin.json("logs", model_id)["logs"])

        # Log lines are written in batches: let the lines of the requests so far land first,
        # so that everything the follower prints later comes from the requests made below.
        wait_for(lambda: logged() >= 1, 10.0, "the first request's log line")
        time.sleep(1.5)
        served_before = logged()
        follow = subprocess.Popen(
            [sys.executable, "-m", "tensormesh_cli", "logs", model_id, "-f", "--interval", "0.2"],
            env={**os.environ, **admin.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen: list[str] = []
        reader = threading.Thread(target=lambda: seen.extend(iter(follow.stdout.readline, "")))  # type: ignore[union-attr]
        reader.start()
        try:
            wait_for(
                lambda: sum(served in line for line in seen) == served_before,
                15.0,
                "the existing lines, once each",
            )
            for _ in range(3):
                assert _served(admin, name)
            wait_for(
                lambda: (
                    sum("POST /v1/chat/completions 200" in line for line in seen)
                    >= served_before + 3
                ),
                15.0,
                "three new request lines",
            )
            time.sleep(1.0)  # several more polls: nothing may be printed twice
            assert sum(served in line for line in seen) == served_before + 3
        finally:
            follow.send_signal(signal.SIGINT)
            try:
                _, errors = follow.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                follow.kill()  # do not leave it behind (nor hang the run)
                raise
            finally:
                reader.join(timeout=5)
        assert follow.returncode == 130
        assert "Traceback" not in errors
        assert errors.strip().splitlines()[-1] == "Interrupted."
        admin("models", "delete", model_id)
