"""Acceptance, end to end against real processes (SQLite and PostgreSQL): an `openai` model
deployed from the Control Plane over two replicas; requests spread; one replica killed mid-run
(no request that had not started streaming fails; it is marked down, then up after a
restart); undeployed, the model answers 404. Embedded deployments: a GGUF file loads, a
missing or invalid file is a DOWN event."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tensormesh_server.models_config import default_embedded_model
from tests.operations.e2e_support import (
    Replica,
    admin_headers,
    replicas,
    sqlite_url,
    wait_for,
)
from tests.support.servers import RunningServer, running_server

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database for one real server."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("postgres").create())


@pytest.fixture
def server(tmp_path: Path, server_db: str) -> Iterator[RunningServer]:
    env = {"TENSORMESH_DATABASE_URL": server_db}
    with running_server(tmp_path, args=["--no-embedded"], env=env) as running:
        yield running


class Gateway:
    """Inference calls through the serverless surface."""

    def __init__(self, server: RunningServer) -> None:
        self.url = server.serverless_url
        self.headers = {"authorization": f"Bearer {server.api_key}"}

    def chat(self, model: str, *, stream: bool = False) -> tuple[int, str, bool]:
        """(status, text of the answer or of the stream, whether a chunk arrived first)."""
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
        path = self.url + "/v1/chat/completions"
        with httpx2.stream("POST", path, json=body, headers=self.headers, timeout=30) as answer:
            if not stream:
                return answer.status_code, answer.read().decode(), False
            text, streamed = "", False
            for line in answer.iter_lines():
                streamed = streamed or line.startswith('data: {"id"')
                text += line + "\n"
            return answer.status_code, text, streamed

    def model_ids(self) -> list[str]:
        data = httpx2.get(self.url + "/v1/models", timeout=5).json()["data"]
        return [model["id"] for model in data]


def control(server: RunningServer, method: str, path: str, **kwargs: Any) -> httpx2.Response:
    headers = kwargs.pop("headers")
    return httpx2.request(
        method, server.controlplane_url + path, headers=headers, timeout=10, **kwargs
    )


def logs(server: RunningServer, headers: dict[str, str], model_id: str) -> str:
    answer = control(
        server,
        "GET",
        f"/v1/observability/deployments/{model_id}/logs",
        headers=headers,
        params={"limit": 1000, "direction": "LOG_DIRECTION_FORWARD"},
    )
    return "\n".join(line["message"] for line in answer.json().get("logs", []))


def status(server: RunningServer, headers: dict[str, str], model_id: str) -> dict[str, Any]:
    return dict(control(server, "GET", f"/v1/models/{model_id}", headers=headers).json()["model"])


def served_by(text: str) -> str:
    return str(json.loads(text)["id"]).removeprefix("cmpl-")


def test_openai_replicas_failover_and_undeploy(server: RunningServer, server_db: str) -> None:
    headers = admin_headers(server_db)
    gateway = Gateway(server)
    with replicas("alpha", "beta") as (alpha, beta):
        deployed = control(
            server,
            "POST",
            "/v1/models",
            headers=headers,
            json={"modelName": "dual", "engine": "openai", "upstreamUrls": [alpha.url, beta.url]},
        )
        assert deployed.status_code == 200, deployed.text
        model_id = deployed.json()["model"]["modelId"]
        appear = wait_for(lambda: "dual" in gateway.model_ids(), 10.0, "the model to be served")
        wait_for(lambda: status(server, headers, model_id)["status"] == "MODEL_STATUS_UP", 5, "UP")
        print(f"deployed model served after {appear:.2f}s")

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: gateway.chat("dual"), range(24)))
        assert all(code == 200 for code, _, _ in answers)
        assert {served_by(text) for _, text, _ in answers} == {"alpha", "beta"}

        results: list[tuple[bool, int, str, bool]] = []
        stop = threading.Event()

        def load(worker: int) -> None:
            while not stop.is_set():
                stream = worker % 2 == 1
                code, text, streamed = gateway.chat("dual", stream=stream)
                results.append((stream, code, text, streamed))

        with ThreadPoolExecutor(4) as pool:
            for worker in range(4):
                pool.submit(load, worker)
            time.sleep(1.0)
            killed_at = time.monotonic()
            alpha.kill()
            down = wait_for(
                lambda: f"replica {alpha.url} is down" in logs(server, headers, model_id),
                10.0,
                "the killed replica to be marked down",
            )
            time.sleep(1.0)
            stop.set()
        print(f"killed replica marked down after {down:.2f}s")
        assert time.monotonic() - killed_at >= 1.0
        plain = [r for r in results if not r[0]]
        streams = [r for r in results if r[0]]
        assert len(plain) > 10
        assert len(streams) > 5
        assert all(code == 200 for _, code, _, _ in plain), [r for r in plain if r[1] != 200]
        for _, code, text, streamed in streams:
            broken = code != 200 or "data: [DONE]" not in text
            assert not broken or streamed, text  # a failed stream had started already
        assert status(server, headers, model_id)["status"] == "MODEL_STATUS_UP"

        restarted = Replica("alpha", alpha.port)
        launched = time.monotonic()
        restarted.start()
        try:
            wait_for(
                lambda: f"replica {alpha.url} is back up" in logs(server, headers, model_id),
                10.0,
                "the restarted replica to be marked up",
            )
            print(f"restarted replica marked up {time.monotonic() - launched:.2f}s after launch")
            with ThreadPoolExecutor(4) as pool:
                again = list(pool.map(lambda _: gateway.chat("dual"), range(24)))
            assert {served_by(text) for _, text, _ in again} == {"alpha", "beta"}

            beta.kill()
            restarted.kill()
            wait_for(
                lambda: status(server, headers, model_id)["status"] == "MODEL_STATUS_DOWN",
                10.0,
                "DOWN when every replica is gone",
            )
            events = status(server, headers, model_id)["events"]
            assert "every replica is down" in events[-1]["log"]
        finally:
            restarted.kill()

        text = logs(server, headers, model_id)
        assert "POST /v1/chat/completions 200" in text
        for url in (server.serverless_url, server.controlplane_url):
            metrics = httpx2.get(url + "/metrics", timeout=5).text
            assert 'tensormesh_requests_in_flight{model="dual"}' in metrics

        assert control(server, "DELETE", f"/v1/models/{model_id}", headers=headers).json() == {}
        gone = wait_for(lambda: "dual" not in gateway.model_ids(), 10.0, "the model to go")
        print(f"undeployed model gone after {gone:.2f}s")
        code, text, _ = gateway.chat("dual")
        assert code == 404
        assert json.loads(text)["error"]["code"] == "model_not_found"
        final = status(server, headers, model_id)
        assert final["status"] == "MODEL_STATUS_DELETED"
        kinds = [event["eventType"] for event in final["events"]]
        assert kinds[0] == "MODEL_STATUS_DEPLOYING"
        assert "MODEL_STATUS_UP" in kinds
        assert kinds[-1] == "MODEL_STATUS_DELETED"
    assert server.process.poll() is None


def test_embedded_deployments(server: RunningServer, server_db: str, tmp_path: Path) -> None:
    headers = admin_headers(server_db)
    gateway = Gateway(server)
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("this is not a model")
    cases = {
        "missing": (str(tmp_path / "nowhere.gguf"), "model file not found"),
        "invalid": (str(not_gguf), "not a GGUF model file"),
    }
    ids = {}
    for name, (path, _) in cases.items():
        body = {"modelName": name, "engine": "embedded", "modelPath": path}
        ids[name] = control(server, "POST", "/v1/models", headers=headers, json=body).json()
    path = default_embedded_model()
    assert path is not None
    smol = control(
        server,
        "POST",
        "/v1/models",
        headers=headers,
        json={"modelName": "smol-copy", "engine": "embedded", "modelPath": path},
    ).json()["model"]["modelId"]
    for name, (_, reason) in cases.items():
        model_id = ids[name]["model"]["modelId"]
        wait_for(
            lambda model_id=model_id: (
                status(server, headers, model_id)["status"] == "MODEL_STATUS_DOWN"
            ),
            20.0,
            f"{name} to be DOWN",
        )
        assert reason in status(server, headers, model_id)["events"][-1]["log"]
    wait_for(lambda: "smol-copy" in gateway.model_ids(), 30.0, "the GGUF deployment")
    assert status(server, headers, smol)["status"] == "MODEL_STATUS_UP"
    answer = httpx2.post(
        gateway.url + "/v1/completions",
        json={"model": "smol-copy", "prompt": "Hello", "max_tokens": 4},
        headers=gateway.headers,
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["completion_tokens"] >= 1
    assert sorted(gateway.model_ids()) == ["smol-copy"]
    assert server.process.poll() is None
