"""Upstream faults through a real gateway (`tm server up --role gateway --no-embedded`, SQLite,
a database key): a replica SIGKILLed mid-stream, slow and stalled upstreams, upstream 5xx
answers, and a client disconnect that must reach the upstream within a second.

Every client must get a clean answer (an OpenAI-shaped error status, or an error event that
ends the stream) within seconds, and the gateway must stay healthy and keep serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy import select

import tensormesh
from tensormesh import Tensormesh
from tensormesh_server.store.billing_models import RequestRecord
from tensormesh_server.store.database import Database
from tensormesh_server.testing.fake_upstream import (
    FakeUpstream,
    fake_upstream_process,
    numbered_words,
    running_fake_upstream,
)
from tests.billing.e2e import customer
from tests.support.servers import RunningServer, free_port, running_server

from .figures import SCALE, count, detail

pytestmark = pytest.mark.slow

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me a story."}]
DEFAULT_TIMEOUT = 1.0
"""TENSORMESH_UPSTREAM_TIMEOUT_SECONDS of the gateway (models without `timeout_seconds`)."""
CANCEL_CHUNK_DELAY = 0.2
"""Seconds between the chunks of the disconnect test's upstream."""
ERROR_WITHIN = 5.0
"""A client must see the error of a broken upstream within this many seconds."""


@dataclass
class Faults:
    """The gateway, its key, the in-thread fake upstreams by name, the killable replica."""

    gateway: RunningServer
    key: str
    db: Database
    fakes: dict[str, FakeUpstream]
    replica_a: subprocess.Popen[bytes]
    spare_port: int

    @property
    def url(self) -> str:
        return self.gateway.serverless_url

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}

    def sdk(self) -> Tensormesh:
        return Tensormesh(
            serverless_base_url=self.url,
            inference_api_key=self.key,
            max_retries=0,
            timeout=30,
            env={},
        )

    def openai(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=self.key, max_retries=0, timeout=30)


def _models_file(path: Path, urls: dict[str, str], killable: str, spare: str) -> Path:
    entries = [
        ("fast", [urls["fast"]], None),
        ("slow", [urls["slow"]], 60),
        ("late", [urls["late"]], 60),
        ("late-default", [urls["late"]], None),  # the gateway's default timeout
        ("stall", [urls["stall"]], 1),
        ("broken", [urls["e500"]], None),
        ("flaky", [urls["e503"], urls["fast"]], None),
        ("down", [urls["e503"], urls["e500"]], None),
        ("down503", [urls["e503"], urls["e503"]], None),
        ("kill", [killable, spare], None),
        ("cancel", [urls["cancel"]], 60),
    ]
    text = ""
    for model, replicas, timeout in entries:
        text += f'[[models]]\nid = "{model}"\nupstream_urls = {json.dumps(replicas)}\n'
        if timeout is not None:
            text += f"timeout_seconds = {timeout}\n"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    """One gateway for every fault, its upstreams started first."""
    tmp_path = tmp_path_factory.mktemp("faults")
    fakes = {
        "fast": FakeUpstream(name="fast"),
        "slow": FakeUpstream(name="slow", words=numbered_words(100), chunk_delay=0.5),
        "late": FakeUpstream(name="late", first_byte_delay=30),
        "stall": FakeUpstream(name="stall", words=numbered_words(50), stall_after=3),
        "e500": FakeUpstream(name="e500", status=500),
        "e503": FakeUpstream(name="e503", status=503),
        "cancel": FakeUpstream(
            name="cancel", words=numbered_words(300), chunk_delay=CANCEL_CHUNK_DELAY
        ),
    }
    with contextlib.ExitStack() as stack:
        urls = {
            name: stack.enter_context(running_fake_upstream(app))[0] for name, app in fakes.items()
        }
        a_args = ("--name", "a", "--words", "5000", "--chunk-delay", "0.05")
        killable, replica_a = stack.enter_context(fake_upstream_process(a_args))
        spare_port = free_port()
        models = _models_file(
            tmp_path / "models.toml", urls, killable, f"http://127.0.0.1:{spare_port}"
        )
        db_url = f"sqlite:///{tmp_path / 'faults.db'}"
        env = {
            "TENSORMESH_DATABASE_URL": db_url,
            "TENSORMESH_UPSTREAM_TIMEOUT_SECONDS": str(DEFAULT_TIMEOUT),
            "TENSORMESH_BILLING_ENFORCE": "0",
            "TENSORMESH_SERVER_SHUTDOWN_SECONDS": "2",
        }
        args = ("--role", "gateway", "--no-embedded", "--models-file", str(models))
        gateway = stack.enter_context(running_server(tmp_path, args=args, env=env))
        db = Database(db_url)
        stack.callback(db.dispose)
        (key,) = customer(db, "faults@example.com", keys=1, credit=None).keys.values()
        yield Faults(gateway, key, db, fakes, replica_a, spare_port)
        assert "Traceback" not in gateway.log()


def requests_total(faults: Faults, route: str, model: str, status: int) -> int:
    """The gateway's `tensormesh_requests_total` of one route, model and status."""
    text = httpx2.get(f"{faults.url}/metrics", timeout=10).text
    labels = f'route="{route}",model="{model}",status="{status}"'
    match = re.search(rf"tensormesh_requests_total{{{re.escape(labels)}}} (\d+)", text)
    return int(match.group(1)) if match else 0


def _more_than(items: list[float], length: int) -> bool:
    return len(items) > length


def _counted(faults: Faults, route: str, model: str, status: int, expected: int) -> bool:
    return requests_total(faults, route, model, status) == expected


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def assert_error_shape(body: Any, status: int, *fragments: str) -> None:
    """`body` is an OpenAI error object naming every fragment."""
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert all(fragment in error["message"] for fragment in fragments), (status, error)


# -- 1. a replica killed mid-stream ----------------------------------------------------------------


class ErrorEvent(Exception):
    """A raw stream ended with an error event (its `error` object is the argument)."""


@dataclass
class Streamer:
    """One client reading one stream of the `kill` model in a thread."""

    name: str
    read: Callable[[Faults, Callable[[], None]], None]
    started: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    ended: float = 0.0
    thread: threading.Thread | None = None

    def run(self, faults: Faults) -> None:
        try:
            self.read(faults, self.started.set)
        except BaseException as exc:  # judged by the test
            self.error = exc
        finally:
            self.ended = time.monotonic()
            self.started.set()


def sdk_chat(faults: Faults, first: Callable[[], None]) -> None:
    with (
        faults.sdk() as client,
        client.inference.serverless.chat.completions.create(
            model="kill", messages=MESSAGES, stream=True
        ) as stream,
    ):
        for _ in stream.text_deltas():
            first()


def sdk_completion(faults: Faults, first: Callable[[], None]) -> None:
    with (
        faults.sdk() as client,
        client.inference.serverless.completions.create(
            model="kill", prompt="Once upon a time", stream=True
        ) as stream,
    ):
        for _ in stream.text_deltas():
            first()


def sdk_responses(faults: Faults, first: Callable[[], None]) -> None:
    with (
        faults.sdk() as client,
        client.inference.serverless.responses.create(
            model="kill", input="Tell me a long story.", stream=True
        ) as stream,
    ):
        for _ in stream.text_deltas():
            first()


def openai_chat(faults: Faults, first: Callable[[], None]) -> None:
    with faults.openai() as client:
        for _ in client.chat.completions.create(model="kill", messages=MESSAGES, stream=True):
            first()


def openai_completion(faults: Faults, first: Callable[[], None]) -> None:
    with faults.openai() as client:
        for _ in client.completions.create(model="kill", prompt="Once upon a time", stream=True):
            first()


def openai_responses(faults: Faults, first: Callable[[], None]) -> None:
    with faults.openai() as client:
        for _ in client.responses.create(model="kill", input="Tell me a story.", stream=True):
            first()


def raw_chat(faults: Faults, first: Callable[[], None]) -> None:
    body = {"model": "kill", "messages": MESSAGES, "stream": True}
    events: list[str] = []
    with httpx2.stream(
        "POST", f"{faults.url}/v1/chat/completions", json=body, headers=faults.headers, timeout=30
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(line[6:])
                first()
    last = json.loads(events[-1])
    if "error" in last:
        raise ErrorEvent(last)


STREAMERS: dict[str, tuple[str, Callable[[Faults, Callable[[], None]], None]]] = {
    "sdk chat": ("chat/completions", sdk_chat),
    "sdk completions": ("completions", sdk_completion),
    "sdk responses": ("responses", sdk_responses),
    "openai chat": ("chat/completions", openai_chat),
    "openai completions": ("completions", openai_completion),
    "openai responses": ("responses", openai_responses),
    "raw chat": ("chat/completions", raw_chat),
}


def error_object(streamer: Streamer) -> dict[str, Any]:
    """The error object the client got from the gateway's error event."""
    exc = streamer.error
    if isinstance(exc, ErrorEvent):
        body: Any = exc.args[0]
    elif isinstance(exc, tensormesh.StreamError):
        body = exc.body
    elif type(exc) is openai.APIError:  # not a connection error: the error event's `error`
        body = {"error": exc.body}
    else:
        raise AssertionError(f"{streamer.name}: not a clean error event: {exc!r}")
    assert isinstance(body, dict), (streamer.name, body)
    assert isinstance(body.get("error"), dict), (streamer.name, body)
    return dict(body["error"])


def test_replica_killed_mid_stream(faults: Faults) -> None:
    """SIGKILL the replica serving seven streams (chat, completions and responses; the SDK,
    the openai client and raw HTTP): each client gets an error event within seconds, the
    gateway stays healthy, serves the model from its second replica and records the 502s."""
    routes = {route for route, _ in STREAMERS.values()}
    before_502 = {route: requests_total(faults, route, "kill", 502) for route in routes}
    streamers = [Streamer(name, read) for name, (_, read) in STREAMERS.items()]
    for streamer in streamers:
        streamer.thread = threading.Thread(target=streamer.run, args=(faults,), daemon=True)
        streamer.thread.start()
    for streamer in streamers:
        assert streamer.started.wait(20), f"{streamer.name} did not start streaming"
        assert streamer.error is None, (streamer.name, streamer.error)
    # Replica B (the spare port) was refused until now: every stream is on replica A.
    with running_fake_upstream(FakeUpstream(name="b"), port=faults.spare_port):
        killed = time.monotonic()
        faults.replica_a.send_signal(signal.SIGKILL)
        faults.replica_a.wait(10)
        for streamer in streamers:
            assert streamer.thread is not None
            streamer.thread.join(ERROR_WITHIN + 5)
            assert not streamer.thread.is_alive(), f"{streamer.name} hangs after the kill"
        slowest = max(streamer.ended - killed for streamer in streamers)
        for streamer in streamers:
            error = error_object(streamer)
            assert error["type"] == "upstream_error", (streamer.name, error)
            assert "failed" in error["message"], (streamer.name, error)
        assert slowest < ERROR_WITHIN, f"an error event came {slowest:.1f} s after the kill"
        assert httpx2.get(f"{faults.url}/health", timeout=10).status_code == 200
        with faults.openai() as client:
            answer = client.chat.completions.create(model="kill", messages=MESSAGES)
            assert answer.id == "cmpl-b"
            stream = client.chat.completions.create(model="kill", messages=MESSAGES, stream=True)
            assert {chunk.id for chunk in stream} == {"cmpl-b"}
    for route in routes:
        expected = sum(1 for r, _ in STREAMERS.values() if r == route)
        assert requests_total(faults, route, "kill", 502) - before_502[route] == expected, route
    assert wait_for(lambda: len(failed_records(faults.db, "kill")) == len(STREAMERS), 10)
    for record in failed_records(faults.db, "kill"):  # metered: 502, with what was streamed
        assert record.status_code == 502
        assert record.completion_tokens > 0
        assert not record.abandoned
    count("requests run", len(STREAMERS) + 2)
    count("faults injected", len(STREAMERS))
    detail(
        f"upstream faults: SIGKILL cut {len(STREAMERS)} streams (SDK, openai, raw; chat, "
        f"completions, responses); every client had its error event within {slowest:.2f} s"
    )


def failed_records(db: Database, model: str) -> list[RequestRecord]:
    """The metering records of `model` with a 5xx status."""
    with db.session() as session:
        rows = session.scalars(
            select(RequestRecord).where(
                RequestRecord.model == model, RequestRecord.status_code >= 500
            )
        ).all()
        return list(rows)


# -- 2. slow and stalled upstreams -----------------------------------------------------------------


async def _fast_latencies(client: httpx2.AsyncClient, rounds: int) -> list[float]:
    """Seconds per request to the fast model (a whole chat, then a whole stream, in turn)."""
    seconds: list[float] = []
    for n in range(rounds):
        began = time.perf_counter()
        body = {"model": "fast", "messages": MESSAGES, "stream": n % 2 == 1}
        response = await client.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        assert "upstream." in response.text
        seconds.append(time.perf_counter() - began)
    return seconds


async def _hold_stream(client: httpx2.AsyncClient, model: str) -> None:
    """Stream from `model` until cancelled."""
    body = {"model": model, "prompt": "x", "stream": True}
    async with client.stream("POST", "/v1/completions", json=body) as response:
        assert response.status_code == 200
        async for _ in response.aiter_raw():
            pass


async def test_slow_upstreams_do_not_delay_other_models(faults: Faults) -> None:
    """With 16 streams (x SCALE) held open on a slow upstream and on one that has not answered yet,
    requests to a fast model are answered as promptly as without them."""
    slow, late = faults.fakes["slow"], faults.fakes["late"]
    rounds, held = 20, 8 * SCALE
    async with (
        httpx2.AsyncClient(base_url=faults.url, headers=faults.headers, timeout=30) as probe,
        httpx2.AsyncClient(base_url=faults.url, headers=faults.headers, timeout=60) as load,
    ):
        quiet = await _fast_latencies(probe, rounds)
        tasks = [
            asyncio.ensure_future(_hold_stream(load, model))
            for model in ("slow", "late")
            for _ in range(held)
        ]
        try:
            deadline = time.monotonic() + 20
            while slow.in_flight < held or late.in_flight < held:
                assert time.monotonic() < deadline, (slow.in_flight, late.in_flight)
                assert not any(task.done() for task in tasks)
                await asyncio.sleep(0.05)
            loaded = await _fast_latencies(probe, rounds)
            assert slow.in_flight == held  # the load was there
            assert late.in_flight == held
            assert not any(task.done() for task in tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert max(loaded) < 1.0, loaded
    assert wait_for(lambda: slow.in_flight == late.in_flight == 0, 5)  # cancelled upstream too
    count("requests run", 2 * rounds + 2 * held)
    detail(
        f"upstream faults: fast model p50/max {statistics.median(quiet) * 1000:.0f}/"
        f"{max(quiet) * 1000:.0f} ms alone, {statistics.median(loaded) * 1000:.0f}/"
        f"{max(loaded) * 1000:.0f} ms beside {2 * held} slow streams"
    )


def test_stalled_upstream_times_out_cleanly(faults: Faults) -> None:
    """An upstream silent for longer than the read timeout: a 504 `timeout` before the first
    byte (JSON, also for a stream), an error event once the stream started."""
    began = time.monotonic()
    with faults.openai() as client:
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="late-default", messages=MESSAGES)
        assert caught.value.status_code == 504
        assert_error_shape({"error": caught.value.body}, 504, "timed out")
    first_byte = time.monotonic() - began
    assert first_byte < DEFAULT_TIMEOUT + 3
    body = {"model": "late-default", "prompt": "x", "stream": True}
    response = httpx2.post(
        f"{faults.url}/v1/completions", json=body, headers=faults.headers, timeout=30
    )
    assert response.status_code == 504
    assert response.headers["content-type"].startswith("application/json")
    assert_error_shape(response.json(), 504, "timed out")
    assert response.json()["error"]["code"] == "timeout"

    stall = faults.fakes["stall"]
    cancelled = stall.cancelled
    began = time.monotonic()
    with faults.sdk() as sdk:
        deltas: list[str] = []
        with (
            pytest.raises(tensormesh.StreamError) as stream_error,
            sdk.inference.serverless.chat.completions.create(
                model="stall", messages=MESSAGES, stream=True
            ) as stream,
        ):
            deltas.extend(stream.text_deltas())
    assert deltas == list(stall.words[:3])  # what came before the stall reached the client
    assert isinstance(stream_error.value.body, dict)
    assert stream_error.value.body["error"]["code"] == "timeout"
    mid_stream = time.monotonic() - began
    assert mid_stream < 1 + 3
    assert wait_for(lambda: stall.cancelled == cancelled + 1, 5)  # the upstream was let go
    for route in ("chat/completions", "completions"):
        assert requests_total(faults, route, "late-default", 504) >= 1
    assert requests_total(faults, "chat/completions", "stall", 504) >= 1
    count("requests run", 3)
    count("faults injected", 3)
    detail(
        f"upstream faults: silent upstream -> 504 `timeout` after {first_byte:.2f} s "
        f"(limit {DEFAULT_TIMEOUT:g} s), stalled stream -> error event after {mid_stream:.2f} s "
        "(limit 1 s)"
    )


# -- 3. upstream 5xx -----------------------------------------------------------------------------


def test_upstream_5xx(faults: Faults) -> None:
    """A 500 is a 502 with the upstream's message (JSON, for streams too); a 503 fails over to
    the other replica; when every replica fails the client gets a clean 502/503."""
    e500, e503 = faults.fakes["e500"], faults.fakes["e503"]
    with faults.openai() as client:
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="broken", messages=MESSAGES)
        assert caught.value.status_code == 502
        assert_error_shape({"error": caught.value.body}, 502, "e500 fails on purpose")
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="broken", messages=MESSAGES, stream=True)
        assert caught.value.status_code == 502
    with faults.sdk() as sdk:
        with pytest.raises(tensormesh.InternalServerError) as sdk_error:
            sdk.inference.serverless.completions.create(model="broken", prompt="x")
        assert sdk_error.value.status_code == 502
        assert "e500 fails on purpose" in str(sdk_error.value)
    for stream in (False, True):
        body = {"model": "broken", "messages": MESSAGES, "stream": stream}
        response = httpx2.post(
            f"{faults.url}/v1/chat/completions", json=body, headers=faults.headers, timeout=30
        )
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("application/json")
        assert_error_shape(response.json(), 502, "e500 fails on purpose")
    tried = e503.requests
    with faults.openai() as client:
        for _ in range(2):
            answer = client.chat.completions.create(model="flaky", messages=MESSAGES)
            assert answer.id == "cmpl-fast"
            chunks = client.chat.completions.create(model="flaky", messages=MESSAGES, stream=True)
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert e503.requests > tried  # at least one went to the 503 replica first and failed over
    for model, status, message in (
        ("down", 502, "e500 fails on purpose"),
        ("down503", 503, "e503 fails on purpose"),
    ):
        for stream in (False, True):
            body = {"model": model, "prompt": "x", "stream": stream}
            response = httpx2.post(
                f"{faults.url}/v1/completions", json=body, headers=faults.headers, timeout=30
            )
            assert response.status_code == status, (model, response.text)
            assert_error_shape(response.json(), status, message)
    faulty = e500.requests + e503.requests
    count("requests run", 4 + 4 + 4 + 4)
    count("faults injected", faulty)
    detail(
        f"upstream faults: {faulty} upstream 5xx answers -> 502/503 in the OpenAI error shape "
        "(JSON for streams too), 503 failed over to the healthy replica"
    )


# -- 4. client disconnect ------------------------------------------------------------------------


def test_client_disconnect_cancels_the_upstream_within_a_second(faults: Faults) -> None:
    """Close the client after a few chunks: the upstream sees its request end within 1 s
    (measured at the upstream, not polled), for chat, completions and responses."""
    fake = faults.fakes["cancel"]
    routes: list[tuple[str, dict[str, Any]]] = [
        ("chat/completions", {"messages": MESSAGES}),
        ("completions", {"prompt": "x"}),
        ("responses", {"input": "x"}),
    ]
    delays: list[float] = []
    for n in range(2 * len(routes) * SCALE):
        route, extra = routes[n % len(routes)]
        seen = len(fake.disconnects)
        body = {"model": "cancel", "stream": True, **extra}
        with httpx2.stream(
            "POST", f"{faults.url}/v1/{route}", json=body, headers=faults.headers, timeout=30
        ) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            received = 0
            while received < 3:
                received += next(lines).startswith("data: ")
            assert fake.in_flight == 1
            closed = time.monotonic()
            response.close()
        assert wait_for(partial(_more_than, fake.disconnects, seen), 5), f"{route}: not cancelled"
        delays.append(fake.disconnects[seen] - closed)
    assert wait_for(lambda: fake.in_flight == 0, 2)
    assert max(delays) <= 1.0, delays
    for route, _ in routes:
        assert wait_for(partial(_counted, faults, route, "cancel", 499, 2 * SCALE), 5), route
    count("requests run", len(delays))
    count("faults injected", len(delays))
    detail(
        f"upstream faults: client disconnect reached the upstream in max "
        f"{max(delays) * 1000:.0f} ms (median {statistics.median(delays) * 1000:.0f} ms, "
        f"{len(delays)} streams, chunks every {CANCEL_CHUNK_DELAY * 1000:.0f} ms)"
    )
