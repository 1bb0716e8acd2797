"""Gateways in front of other servers: another tensormesh server, the fake upstream, dead ones."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx2
import openai
import pytest

from tensormesh_server.testing.fake_upstream import FakeUpstream, free_port, running_fake_upstream
from tests.conftest import EMBEDDED_MODEL
from tests.support.servers import RunningServer, running_server

from .conftest import KEY

pytestmark = pytest.mark.slow


def in_flight(url: str, model: str) -> int:
    text = httpx2.get(f"{url}/metrics").text
    match = re.search(rf'tensormesh_requests_in_flight{{model="{re.escape(model)}"}} (\d+)', text)
    return int(match.group(1)) if match else 0


def wait_for(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def chained(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> object:
    """Server B (`--no-embedded`) whose models file points at server A (the embedded one)."""
    tmp_path = tmp_path_factory.mktemp("chained")
    models = tmp_path / "models.toml"
    models.write_text(
        f"""
[[models]]
id = "via-a"
engine = "openai"
upstream_urls = ["{server.serverless_url}"]
upstream_model = "{EMBEDDED_MODEL}"
api_key_env = "SERVER_A_KEY"
"""
    )
    env = {"SERVER_A_KEY": server.api_key}
    args = ("--no-embedded", "--models-file", str(models))
    with running_server(tmp_path, args=args, env=env, api_key=KEY) as running:
        yield running


def test_chat_streams_through_a_second_server(chained: RunningServer) -> None:
    client = openai.OpenAI(base_url=f"{chained.serverless_url}/v1", api_key=KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="via-a",
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=5,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None
    whole = client.chat.completions.create(
        model="via-a", messages=[{"role": "user", "content": "Hi"}], max_tokens=3
    )
    assert whole.model == "via-a"
    (listed,) = client.models.list().data
    assert listed.id == "via-a"
    assert listed.model_extra is not None
    assert listed.model_extra["max_model_len"] == 2048  # learnt from server A
    tokens = httpx2.post(
        f"{chained.serverless_url}/tokenize",
        json={"model": "via-a", "prompt": "a b", "add_special_tokens": False},
        headers={"authorization": f"Bearer {KEY}"},
    ).json()
    assert tokens["count"] == len(tokens["tokens"]) > 0


def test_client_disconnect_cancels_the_upstream(
    server: RunningServer, chained: RunningServer
) -> None:
    body = {
        "model": "via-a",
        "messages": [{"role": "user", "content": "Write a very long story about the sea."}],
        "max_tokens": 1500,
        "ignore_eos": True,
        "stream": True,
    }
    headers = {"authorization": f"Bearer {KEY}"}
    with httpx2.stream(
        "POST",
        f"{chained.serverless_url}/v1/chat/completions",
        json=body,
        headers=headers,
        timeout=60,
    ) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        received = [next(lines) for _ in range(6)]
        assert any(line.startswith("data: ") for line in received)
        assert in_flight(server.serverless_url, EMBEDDED_MODEL) >= 1
        assert in_flight(chained.serverless_url, "via-a") == 1
    # 1500 tokens (EOS ignored) take ~20 s; the cancellation must reach server A long before.
    assert wait_for(lambda: in_flight(server.serverless_url, EMBEDDED_MODEL) == 0, 3.0)
    assert wait_for(lambda: in_flight(chained.serverless_url, "via-a") == 0, 3.0)
    metrics = httpx2.get(f"{server.serverless_url}/metrics").text
    assert f'route="chat/completions",model="{EMBEDDED_MODEL}",status="499"' in metrics


def test_fake_upstream_through_the_gateway(
    gateway: RunningServer, fake_upstream_url: tuple[str, FakeUpstream]
) -> None:
    _, fake = fake_upstream_url
    body = {"model": "fake", "prompt": "x", "stream": True}
    headers = {"authorization": f"Bearer {KEY}", "x-request-id": "chain-1"}
    response = httpx2.post(f"{gateway.serverless_url}/v1/completions", json=body, headers=headers)
    assert response.headers["x-request-id"] == "chain-1"
    texts = [
        json.loads(line[6:])["choices"][0]["text"]
        for line in response.text.split("\n\n")
        if line.startswith("data: {")
    ]
    assert "".join(texts) == "".join(fake.words)
    assert fake.last_headers["x-request-id"] == "chain-1"


def test_health_is_503_when_no_engine_can_serve(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with running_server(
        tmp_path, args=("--no-embedded", "--upstream", f"gone={dead}"), api_key=KEY
    ) as running:
        health = httpx2.get(f"{running.serverless_url}/health")
        assert health.status_code == 503
        status = health.json()["status"]
        assert "model gone: replica 1 unreachable (cannot connect)" in status
        assert "127.0.0.1" not in status  # upstream addresses go to the log, not to clients
        response = httpx2.post(
            f"{running.serverless_url}/v1/chat/completions",
            json={"model": "gone", "messages": [{"role": "user", "content": "x"}]},
            headers={"authorization": f"Bearer {KEY}"},
        )
        assert response.status_code == 503
        message = response.json()["error"]["message"]
        assert message == "no upstream replica is reachable: replica 1 (cannot connect)"
    assert dead.removeprefix("http://") in running.log()


def test_sigterm_lets_a_stream_finish_and_exits_0(
    gateway: RunningServer, fake_upstream_url: tuple[str, FakeUpstream]
) -> None:
    body = {"model": "fake", "messages": [{"role": "user", "content": "x"}], "stream": True}
    headers = {"authorization": f"Bearer {KEY}"}
    with httpx2.stream(
        "POST",
        f"{gateway.serverless_url}/v1/chat/completions",
        json=body,
        headers=headers,
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        gateway.process.terminate()
        rest = "".join(lines)
    assert rest.endswith("data: [DONE]")
    assert gateway.process.wait(timeout=20) == 0
    assert "Traceback" not in gateway.log()


def test_sigterm_cuts_a_long_stream_at_the_deadline(tmp_path: Path) -> None:
    slow = FakeUpstream(name="slow", words=("tick ",) * 400, chunk_delay=0.05)  # ~20 s
    with running_fake_upstream(slow) as (url, _):
        args = ("--no-embedded", "--upstream", f"slow={url}", "--shutdown-timeout", "1")
        with running_server(tmp_path, args=args, api_key=KEY) as running:
            body = {"model": "slow", "prompt": "x", "stream": True}
            headers = {"authorization": f"Bearer {KEY}"}
            with httpx2.stream(
                "POST", f"{running.serverless_url}/v1/completions", json=body, headers=headers
            ) as response:
                lines = response.iter_lines()
                assert next(lines).startswith("data: ")
                began = time.monotonic()
                running.process.terminate()
                rest = list(lines)
            assert running.process.wait(timeout=15) == 0
            assert time.monotonic() - began < 8
            assert any("shutting down" in line for line in rest)
            assert "Traceback" not in running.log()
