"""User and deployment metrics from the metering's request records, deployment logs with
direction and limit, and the bound on kept log lines (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx2
import pytest

from tensormesh_server.controlplane.services import deployments
from tensormesh_server.store.billing_models import RequestRecord
from tensormesh_server.store.database import Database
from tests.controlplane.helpers import FakeClock
from tests.support.people import Person


def record(
    db: Database,
    user: Person,
    model: str,
    at: datetime,
    *,
    latency: int,
    status: int = 200,
    ttft: int | None = None,
) -> None:
    with db.session() as session:
        session.add(
            RequestRecord(
                request_id=f"req-{at.timestamp()}-{latency}",
                user_id=user.id,
                model=model,
                status_code=status,
                prompt_tokens=10,
                completion_tokens=3,
                cached_tokens=4,
                latency_ms=latency,
                ttft_ms=ttft,
                started_at=at - timedelta(milliseconds=latency),
                finished_at=at,
            )
        )


def series(answer: httpx2.Response) -> dict[str, list[float]]:
    assert answer.status_code == 200, answer.text
    return {m["name"]: [p["value"] for p in m["data"]] for m in answer.json()["metrics"]}


async def test_user_metrics(
    http: httpx2.AsyncClient, db: Database, clock: FakeClock, owner: Person, other: Person
) -> None:
    start = clock.now() - timedelta(minutes=2)
    for i, latency in enumerate((100, 200, 300, 400)):
        record(
            db, owner, "m", start + timedelta(seconds=10 + i), latency=latency, ttft=latency // 2
        )
    record(db, owner, "m", start + timedelta(seconds=70), latency=50, status=500)
    record(db, other, "m", start + timedelta(seconds=10), latency=999)
    params = {
        "startTime": start.isoformat(),
        "endTime": clock.now().isoformat(),
        "stepSeconds": 60,
    }
    got = series(
        await http.get("/v1/observability/users/metrics", params=params, headers=owner.headers)
    )
    assert got["requests"] == [4, 1]
    assert got["errors"] == [0, 1]
    assert got["input_tokens"] == [40, 10]
    assert got["output_tokens"] == [12, 3]
    assert got["cached_tokens"] == [16, 4]
    assert got["latency_p50_ms"] == [200, 50]
    assert got["latency_p99_ms"] == [400, 50]
    assert got["ttft_p50_ms"] == [100, 0]
    default = await http.get("/v1/observability/users/metrics", headers=owner.headers)
    assert len(series(default)["requests"]) == 60
    backwards = {**params, "startTime": params["endTime"], "endTime": params["startTime"]}
    bad = await http.get("/v1/observability/users/metrics", params=backwards, headers=owner.headers)
    assert bad.status_code == 400


async def test_deployment_metrics_and_logs(
    http: httpx2.AsyncClient, db: Database, clock: FakeClock, admin: Person, owner: Person
) -> None:
    made = await http.post(
        "/v1/models",
        json={"modelName": "dep", "upstreamUrls": ["http://127.0.0.1:9"], "userId": owner.id},
        headers=admin.headers,
    )
    model_id = made.json()["model"]["modelId"]
    clock.advance(30)
    record(db, owner, "dep", clock.now(), latency=120)
    record(db, owner, "other-model", clock.now(), latency=120)
    params = {"startTime": (clock.now() - timedelta(minutes=1)).isoformat(), "stepSeconds": 3600}
    params["endTime"] = (clock.now() + timedelta(seconds=1)).isoformat()
    path = f"/v1/observability/deployments/{model_id}"
    got = series(await http.get(path + "/metrics", params=params, headers=owner.headers))
    assert got["requests"] == [1]
    with db.session() as session:
        deployments.append_logs(
            session, [(model_id, clock.now() + timedelta(seconds=i), f"line {i}") for i in range(5)]
        )
    newest = await http.get(path + "/logs", params={"limit": 2}, headers=owner.headers)
    assert [line["message"] for line in newest.json()["logs"]] == ["line 4", "line 3"]
    oldest = await http.get(
        path + "/logs",
        params={"limit": 2, "direction": "LOG_DIRECTION_FORWARD"},
        headers=owner.headers,
    )
    assert [line["message"] for line in oldest.json()["logs"]] == ["line 0", "line 1"]
    window = await http.get(
        path + "/logs",
        params={
            "startTime": (clock.now() + timedelta(seconds=1)).isoformat(),
            "endTime": (clock.now() + timedelta(seconds=3)).isoformat(),
            "direction": "LOG_DIRECTION_FORWARD",
        },
        headers=owner.headers,
    )
    assert [line["message"] for line in window.json()["logs"]] == ["line 1", "line 2"]
    wrong = await http.get(path + "/logs", params={"direction": "SIDEWAYS"}, headers=owner.headers)
    assert wrong.status_code == 400


def test_logs_are_bounded(db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deployments, "LOG_LINES_KEPT", 3)
    with db.session() as session:
        deployments.append_logs(session, [("d1", clock.now(), f"a{i}") for i in range(5)])
        deployments.append_logs(session, [("d1", clock.now(), "b"), ("d2", clock.now(), "c")])
    with db.session() as session:
        kept = deployments.read_logs(session, "d1", None, None, 10, backward=False)
        assert [line.message for line in kept] == ["a3", "a4", "b"]
        assert len(deployments.read_logs(session, "d2", None, None, 10, backward=True)) == 1
