"""`tm infer` end to end: the real `tm` (a subprocess) against the real server and model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tensormesh_cli.main import cli
from tests.cli.conftest import Completed, clean_environ, run_tm_process
from tests.conftest import EMBEDDED_MODEL
from tests.support.servers import RunningServer, free_port

pytestmark = pytest.mark.slow

MODEL = ("--model", EMBEDDED_MODEL, "--temperature", "0")
GREEDY = (*MODEL, "--max-tokens", "12")
SHORT_ANSWER = (*MODEL, "--max-output-tokens", "12")
QUESTION = "What is the capital of France?"


@pytest.fixture
def env(server: RunningServer, tmp_path: Path) -> dict[str, str]:
    return clean_environ(
        tmp_path / "config",
        TENSORMESH_SERVERLESS_BASE_URL=server.serverless_url,
        TENSORMESH_INFERENCE_API_KEY=server.api_key,
    )


def tm_ok(env: dict[str, str], *args: str, input: str | None = None) -> Completed:
    completed = run_tm_process(args, env, input=input)
    assert completed.code == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return completed


def test_chat_prompt_argument(env: dict[str, str]) -> None:
    assert tm_ok(env, "infer", "chat", *GREEDY, QUESTION).stdout.strip()


def test_chat_stream_prints_the_same_text_and_usage(env: dict[str, str]) -> None:
    whole = tm_ok(env, "infer", "chat", *GREEDY, QUESTION)
    streamed = tm_ok(env, "infer", "chat", *GREEDY, "--stream", "--show-usage", QUESTION)
    assert streamed.stdout == whole.stdout
    assert streamed.stderr.startswith("usage: ")
    assert "completion" in streamed.stderr


def test_chat_json_messages_and_json_output(env: dict[str, str]) -> None:
    messages = json.dumps([{"role": "user", "content": QUESTION}])
    completed = tm_ok(env, "-o", "json", "infer", "chat", *GREEDY, "--json", messages)
    data = json.loads(completed.stdout)
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"]["content"]
    assert data["usage"]["completion_tokens"] <= 12


def test_chat_full_request_on_stdin(env: dict[str, str]) -> None:
    request = {
        "model": EMBEDDED_MODEL,
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": 3,
        "temperature": 0,
    }
    completed = tm_ok(env, "-o", "json", "infer", "chat", input=json.dumps(request))
    data = json.loads(completed.stdout)
    assert data["model"] == EMBEDDED_MODEL
    assert data["usage"]["completion_tokens"] <= 3


def test_chat_plain_text_on_stdin_and_the_only_model(env: dict[str, str]) -> None:
    completed = tm_ok(env, "infer", "chat", "--max-tokens", "5", input=QUESTION + "\n")
    assert completed.stdout.strip()


def test_chat_stream_json_lines_and_raw_sse(env: dict[str, str]) -> None:
    lines = tm_ok(env, "-o", "json", "infer", "chat", *GREEDY, "--stream", QUESTION)
    chunks = [json.loads(line) for line in lines.stdout.splitlines()]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    raw = tm_ok(env, "-o", "raw", "infer", "chat", *GREEDY, "--stream", QUESTION)
    events = [line for line in raw.stdout.splitlines() if line]
    assert all(line.startswith("data:") for line in events)
    assert events[-1] == "data: [DONE]"


def test_completions_and_responses(env: dict[str, str]) -> None:
    assert tm_ok(env, "infer", "completions", *GREEDY, "The capital of France is").stdout.strip()
    streamed = tm_ok(env, "infer", "completions", *GREEDY, "--stream", "Once upon")
    assert streamed.stdout.strip()
    answer = tm_ok(env, "infer", "responses", *SHORT_ANSWER, QUESTION)
    assert answer.stdout.strip()
    data = json.loads(
        tm_ok(
            env, "-o", "json", "infer", "responses", *SHORT_ANSWER, "--stream", QUESTION
        ).stdout.splitlines()[-1]
    )
    assert data["type"] == "response.completed"


def test_tokenize_detokenize_round_trip(env: dict[str, str]) -> None:
    text = "Hello, tensor mesh!"
    tokens = json.loads(
        tm_ok(
            env,
            "-o",
            "json",
            "infer",
            "tokenize",
            "-m",
            EMBEDDED_MODEL,
            "--no-special-tokens",
            text,
        ).stdout
    )
    assert tokens["count"] == len(tokens["tokens"]) > 0
    ids = [str(token) for token in tokens["tokens"]]
    assert tm_ok(env, "infer", "detokenize", "-m", EMBEDDED_MODEL, *ids).stdout == text + "\n"
    piped = tm_ok(
        env, "infer", "detokenize", "-m", EMBEDDED_MODEL, input=json.dumps(tokens["tokens"])
    )
    assert piped.stdout == text + "\n"
    messages = json.dumps([{"role": "user", "content": "hi"}])
    templated = json.loads(
        tm_ok(env, "-o", "json", "infer", "tokenize", "--messages", messages).stdout
    )
    assert templated["count"] > tokens["count"] - 5


def test_models_health_version(env: dict[str, str]) -> None:
    assert EMBEDDED_MODEL in tm_ok(env, "infer", "models").stdout.splitlines()
    table = tm_ok(env, "-o", "table", "infer", "models").stdout
    assert "max_model_len" in table
    assert tm_ok(env, "infer", "health").stdout.strip() == "healthy"
    server_version = tm_ok(env, "infer", "version").stdout.strip()
    both = json.loads(tm_ok(env, "-o", "json", "version", "--server").stdout)
    assert both["server"] == server_version
    assert both["cli"] == both["sdk"]


def test_config_file_drives_tm(server: RunningServer, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "config")
    tm_ok(
        env,
        "config",
        "init",
        "--serverless-base",
        server.serverless_url,
        "--gateway-api-key",
        server.api_key,
    )
    assert tm_ok(env, "infer", "chat", *GREEDY, QUESTION).stdout.strip()


def test_doctor_ready(env: dict[str, str]) -> None:
    completed = tm_ok(env, "infer", "doctor", "--exit-status")
    assert completed.stdout.rstrip().endswith("ready")
    report = json.loads(tm_ok(env, "-o", "json", "infer", "doctor").stdout)
    assert report["ready"] is True
    assert [check["status"] for check in report["checks"]] == ["ok"] * 6


def test_doctor_bad_key_exits_4(env: dict[str, str]) -> None:
    env["TENSORMESH_INFERENCE_API_KEY"] = "tm-wrong-key-000000"
    completed = run_tm_process(["-o", "json", "infer", "doctor", "--exit-status"], env)
    assert completed.code == 4
    report = json.loads(completed.stdout)
    assert report["checks"][-1]["status"] == "fail"
    no_key = clean_environ(
        Path(env["TM_CONFIG_HOME"]),
        TENSORMESH_SERVERLESS_BASE_URL=env["TENSORMESH_SERVERLESS_BASE_URL"],
    )
    assert run_tm_process(["infer", "doctor", "--exit-status"], no_key).code == 4


def test_doctor_closed_port_exits_1(env: dict[str, str]) -> None:
    env["TENSORMESH_SERVERLESS_BASE_URL"] = f"http://127.0.0.1:{free_port()}"
    completed = run_tm_process(["--max-retries", "0", "infer", "doctor", "--exit-status"], env)
    assert completed.code == 1
    assert "connection refused" in completed.stdout
    assert "Traceback" not in completed.stderr + completed.stdout


def test_bad_key_is_one_line_exit_4(env: dict[str, str]) -> None:
    env["TENSORMESH_INFERENCE_API_KEY"] = "tm-wrong-key-000000"
    completed = run_tm_process(["infer", "chat", *GREEDY, QUESTION], env)
    assert completed.code == 4
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    assert "TENSORMESH_INFERENCE_API_KEY" in completed.stderr


def test_closed_port_is_one_line_exit_1(env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env["TENSORMESH_SERVERLESS_BASE_URL"] = url
    completed = run_tm_process(["infer", "chat", *GREEDY, QUESTION], env)
    assert completed.code == 1
    assert (
        completed.stderr == f"Error: cannot reach the serverless API at {url}: connection refused\n"
    )


def test_server_rejecting_the_body_is_one_line(env: dict[str, str]) -> None:
    request = {"messages": [{"role": "user", "content": "hi"}], "n": 2, "temperature": 0}
    completed = run_tm_process(
        ["infer", "chat", "-m", EMBEDDED_MODEL, "--json", json.dumps(request)], env
    )
    assert completed.code == 1
    assert completed.stderr.startswith("Error: 400")
    assert completed.stderr.count("\n") == 1


def test_ctrl_c_in_a_stream_exits_130_with_one_line(env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensormesh_cli",
            "infer",
            "chat",
            "-m",
            EMBEDDED_MODEL,
            "--stream",
            "--max-tokens",
            "2000",
            "Tell me a very long story about a dragon.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), True)
    first = process.stdout.read(1)  # the reply has started
    assert first
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.decode().strip() == "Interrupted."


def test_raw_output_file_input_and_tm_model(env: dict[str, str], tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps([{"role": "user", "content": QUESTION}]))
    env["TM_MODEL"] = EMBEDDED_MODEL
    raw = tm_ok(env, "-o", "raw", "infer", "chat", "--max-tokens", "4", "--file", str(request))
    assert json.loads(raw.stdout)["object"] == "chat.completion"
    env["TM_MODEL"] = "no-such-model"
    wrong = run_tm_process(["infer", "chat", "--file", str(request)], env)
    assert wrong.code == 1
    assert "no-such-model" in wrong.stderr


def test_one_client_per_invocation(
    server: RunningServer, config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tensormesh

    created: list[tensormesh.Tensormesh] = []
    closed: list[tensormesh.Tensormesh] = []
    original_init, original_close = tensormesh.Tensormesh.__init__, tensormesh.Tensormesh.close

    def init(self: tensormesh.Tensormesh, **kwargs: Any) -> None:
        created.append(self)
        original_init(self, **kwargs)

    def close(self: tensormesh.Tensormesh) -> None:
        closed.append(self)
        original_close(self)

    monkeypatch.setattr(tensormesh.Tensormesh, "__init__", init)
    monkeypatch.setattr(tensormesh.Tensormesh, "close", close)
    result = CliRunner().invoke(
        cli,
        ["--serverless-base", server.serverless_url, "infer", "doctor", "--exit-status"],
        env={"TENSORMESH_INFERENCE_API_KEY": server.api_key},
    )
    assert result.exit_code == 0, result.output
    assert len(created) == 1  # four requests, one connection pool
    assert closed == created
