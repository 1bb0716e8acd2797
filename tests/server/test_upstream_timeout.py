"""The upstream read timeout (TENSORMESH_UPSTREAM_TIMEOUT_SECONDS, per-model `timeout_seconds`)
and the fault switches of the fake upstream."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tensormesh_server.engines.openai import openai_engine
from tensormesh_server.engines.upstream import ReplicaPool, make_transport
from tensormesh_server.errors import APIError
from tensormesh_server.models_config import (
    DEFAULT_UPSTREAM_TIMEOUT_SECONDS,
    ENV_UPSTREAM_TIMEOUT,
    ModelSpec,
    SettingsError,
    load_models_file,
    parse_upstream,
    upstream_timeout_seconds,
)
from tensormesh_server.testing.fake_upstream import (
    DEFAULT_WORDS,
    FakeUpstream,
    from_command_line,
    running_fake_upstream,
)

STREAM = b'{"model":"m","prompt":"x","stream":true}'


def test_default_timeout_from_the_environment() -> None:
    assert upstream_timeout_seconds({}) == DEFAULT_UPSTREAM_TIMEOUT_SECONDS == 600.0
    assert upstream_timeout_seconds({ENV_UPSTREAM_TIMEOUT: " 2.5 "}) == 2.5
    for bad in ("soon", "0", "-1", "inf", "nan"):
        with pytest.raises(SettingsError, match=ENV_UPSTREAM_TIMEOUT):
            upstream_timeout_seconds({ENV_UPSTREAM_TIMEOUT: bad})


def test_upstream_flag_takes_the_environment_default() -> None:
    assert parse_upstream("m=http://a", {ENV_UPSTREAM_TIMEOUT: "7"}).timeout_seconds == 7.0
    assert parse_upstream("m=http://a", {}).timeout_seconds == 600.0


def _models(tmp_path: Path, extra: str, engine: str = "openai") -> Path:
    path = tmp_path / "models.toml"
    path.write_text(
        f'[[models]]\nid = "m"\nengine = "{engine}"\nupstream_urls = ["http://a"]\n{extra}\n'
    )
    return path


def test_models_file_timeout_seconds(tmp_path: Path) -> None:
    env = {ENV_UPSTREAM_TIMEOUT: "9"}
    (spec,) = load_models_file(str(_models(tmp_path, "timeout_seconds = 1.5")), env)
    assert spec.timeout_seconds == 1.5
    (spec,) = load_models_file(str(_models(tmp_path, "timeout_seconds = 30")), env)
    assert spec.timeout_seconds == 30.0
    (spec,) = load_models_file(str(_models(tmp_path, "")), env)
    assert spec.timeout_seconds == 9.0
    for bad, message in (
        ('"30"', "must be a number"),
        ("true", "must be a number"),
        ("0", "must be positive"),
        ("-2", "must be positive"),
        ("inf", "must be positive"),
    ):
        with pytest.raises(SettingsError, match=f"`timeout_seconds` {message}"):
            load_models_file(str(_models(tmp_path, f"timeout_seconds = {bad}")), env)
    with pytest.raises(SettingsError, match="for `openai` models only"):
        load_models_file(str(_models(tmp_path, "timeout_seconds = 5", "embedded")), env)
    with pytest.raises(SettingsError, match=ENV_UPSTREAM_TIMEOUT):
        load_models_file(str(_models(tmp_path, "")), {ENV_UPSTREAM_TIMEOUT: "x"})


def test_engine_uses_the_model_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = make_transport()
    spec = ModelSpec(id="m", engine="openai", upstream_urls=("http://a",), timeout_seconds=4.0)
    assert openai_engine(spec, transport).pool.timeouts["read"] == 4.0
    monkeypatch.setenv(ENV_UPSTREAM_TIMEOUT, "12")
    spec = ModelSpec(id="m", engine="openai", upstream_urls=("http://a",))  # e.g. the registry's
    assert openai_engine(spec, transport).pool.timeouts["read"] == 12.0


async def test_silence_before_the_first_byte_is_a_504() -> None:
    fake = FakeUpstream(first_byte_delay=30)
    transport = make_transport()
    with running_fake_upstream(fake) as (url, _):
        pool = ReplicaPool(transport, [url], read_timeout=0.3)
        began = time.monotonic()
        with pytest.raises(APIError) as caught:
            await pool.request("POST", "/v1/completions", b'{"prompt":"x"}')
        assert (caught.value.status, caught.value.code) == (504, "timeout")
        assert "timed out" in caught.value.message
        with pytest.raises(APIError) as caught:
            async with pool.stream("POST", "/v1/completions", STREAM):
                pass
        assert (caught.value.status, caught.value.code) == (504, "timeout")
        assert time.monotonic() - began < 3
        for _ in range(100):  # the upstream sees both requests abandoned
            if fake.cancelled == 2:
                break
            await asyncio.sleep(0.02)
        assert fake.cancelled == 2
        assert fake.in_flight == 0
    await transport.aclose()


async def test_a_stream_that_stalls_is_a_504_mid_body() -> None:
    fake = FakeUpstream(stall_after=2)
    transport = make_transport()
    with running_fake_upstream(fake) as (url, _):
        pool = ReplicaPool(transport, [url], read_timeout=0.3)
        seen: list[bytes] = []

        async def read() -> None:
            async with pool.stream("POST", "/v1/completions", STREAM) as (response, chunks):
                assert response.status_code == 200
                async for chunk in chunks:
                    seen.append(chunk)

        with pytest.raises(APIError) as caught:
            await read()
        assert (caught.value.status, caught.value.code) == (504, "timeout")
        assert b"Hello" in b"".join(seen)
        assert b"[DONE]" not in b"".join(seen)
        for _ in range(100):
            if fake.cancelled == 1:
                break
            await asyncio.sleep(0.02)
        assert fake.cancelled == 1
    await transport.aclose()


def test_fake_upstream_command_line() -> None:
    fake, host, port = from_command_line(["--port", "9"])
    assert (host, port, fake.name, fake.words, fake.status) == (
        "127.0.0.1",
        9,
        "fake",
        DEFAULT_WORDS,
        200,
    )
    flags = "--name a --words 3 --chunk-delay 0.5 --status 503 --first-byte-delay 2"
    fake, _, _ = from_command_line([*flags.split(), "--stall-after", "1"])
    assert fake.name == "a"
    assert fake.words == (" w0", " w1", " w2")
    assert (fake.chunk_delay, fake.status, fake.first_byte_delay, fake.stall_after) == (
        0.5,
        503,
        2.0,
        1,
    )
