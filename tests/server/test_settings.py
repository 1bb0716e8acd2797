"""Settings: flag > environment > default, models file, one-line errors with exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tensormesh_server.models_config import model_id_for_path, parse_upstream
from tensormesh_server.settings import ServerFlags, SettingsError, resolve_settings

NO_MODEL = ServerFlags(no_embedded=True)


def test_defaults() -> None:
    settings = resolve_settings(NO_MODEL, {})
    assert (settings.host, settings.serverless_port, settings.controlplane_port) == (
        "127.0.0.1",
        8471,
        8470,
    )
    assert settings.role == "all"
    assert settings.api_keys == ()
    assert settings.models == ()


def test_flag_beats_environment_beats_default() -> None:
    env = {"TENSORMESH_SERVERLESS_PORT": "9001", "TENSORMESH_CONTROLPLANE_PORT": "9000"}
    from_env = resolve_settings(NO_MODEL, env)
    assert (from_env.serverless_port, from_env.controlplane_port) == (9001, 9000)
    flags = ServerFlags(no_embedded=True, serverless_port=9101)
    assert resolve_settings(flags, env).serverless_port == 9101


def test_keys_from_flags_or_environment() -> None:
    env = {"TENSORMESH_SERVER_API_KEYS": " a , b,, "}
    assert resolve_settings(NO_MODEL, env).api_keys == ("a", "b")
    flags = ServerFlags(no_embedded=True, api_keys=("c",))
    assert resolve_settings(flags, env).api_keys == ("c",)
    assert resolve_settings(NO_MODEL, {}).api_keys == ()


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({"TENSORMESH_SERVERLESS_PORT": "http"}, NO_MODEL, "TENSORMESH_SERVERLESS_PORT"),
        ({}, ServerFlags(no_embedded=True, role="everything"), "--role"),
        ({}, ServerFlags(no_embedded=True, upstreams=("nourl",)), "ID=URL"),
        ({}, ServerFlags(no_embedded=True, upstreams=("m=ftp://x",)), "http://"),
        ({}, ServerFlags(no_embedded=True, upstreams=("m=http://a", "m=http://b")), "twice"),
    ],
)
def test_bad_settings_are_one_line_usage_errors(
    env: dict[str, str], flags: ServerFlags, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        resolve_settings(flags, env)
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)


def test_missing_embedded_model_file_is_exit_1(tmp_path: Path) -> None:
    flags = ServerFlags(embedded_model=str(tmp_path / "missing.gguf"))
    with pytest.raises(SettingsError, match="not found") as caught:
        resolve_settings(flags, {})
    assert caught.value.exit_code == 1


def test_embedded_model_from_environment(tmp_path: Path) -> None:
    gguf = tmp_path / "Tiny-Model.Q8_0.gguf"
    gguf.write_bytes(b"GGUF")
    settings = resolve_settings(ServerFlags(), {"TENSORMESH_EMBEDDED_MODEL": str(gguf)})
    (model,) = settings.models
    assert (model.id, model.engine, model.path) == ("Tiny-Model", "embedded", str(gguf))


def test_default_embedded_model_is_smollm2() -> None:
    (model,) = resolve_settings(ServerFlags(), {}).models
    assert model.id == "SmolLM2-135M-Instruct"
    assert model_id_for_path(str(model.path)) == model.id


def test_upstream_shortcut() -> None:
    spec = parse_upstream("m1=http://a:1/v1/, https://b:2")
    assert spec.engine == "openai"
    assert spec.upstream_urls == ("http://a:1", "https://b:2")
    assert spec.upstream_name == "m1"


def test_models_file(tmp_path: Path) -> None:
    gguf = tmp_path / "local.gguf"
    gguf.write_bytes(b"GGUF")
    models = tmp_path / "models.toml"
    models.write_text(
        """
[[models]]
id = "local"
engine = "embedded"
path = "local.gguf"
max_model_len = 1024

[[models]]
id = "big"
engine = "openai"
upstream_urls = ["http://10.0.0.1:8000", "http://10.0.0.2:8000/v1"]
upstream_model = "meta/big"
api_key_env = "BIG_KEY"
"""
    )
    env = {"TENSORMESH_SERVER_MODELS_FILE": str(models), "BIG_KEY": "s3cret"}
    local, big = resolve_settings(NO_MODEL, env).models
    assert (local.engine, local.path, local.max_model_len) == ("embedded", str(gguf), 1024)
    assert big.upstream_urls == ("http://10.0.0.1:8000", "http://10.0.0.2:8000")
    assert (big.upstream_name, big.api_key) == ("meta/big", "s3cret")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[models]]\nid = 'x'\nupstream_urls = []\n", "upstream_urls"),
        ("[[models]]\nid = 'x'\nengine = 'vllm'\n", "engine"),
        ("[[models]]\nid = 'x'\ncolour = 'red'\nupstream_urls=['http://a']\n", "unknown key"),
        ("[[models]]\nupstream_urls = ['http://a']\n", "`id` is required"),
        ("[[models]]\nid='x'\nupstream_urls=['http://a']\napi_key_env='NOPE'\n", "NOPE"),
        ("[[models]\n", "not valid TOML"),
    ],
)
def test_bad_models_file(tmp_path: Path, text: str, message: str) -> None:
    models = tmp_path / "models.toml"
    models.write_text(text)
    with pytest.raises(SettingsError, match=message):
        resolve_settings(ServerFlags(no_embedded=True, models_file=str(models)), {})


def test_missing_models_file(tmp_path: Path) -> None:
    flags = ServerFlags(no_embedded=True, models_file=str(tmp_path / "nope.toml"))
    with pytest.raises(SettingsError, match="not found") as caught:
        resolve_settings(flags, {})
    assert caught.value.exit_code == 1
