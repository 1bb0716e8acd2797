"""Configuration: argument > environment > default, and ConfigurationError messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tensormesh import ConfigurationError, Tensormesh
from tensormesh._config import resolve_config


def test_defaults_when_nothing_is_set() -> None:
    config = resolve_config(env={})
    assert config.serverless_base_url == "https://serverless.tensormesh.ai"
    assert config.control_plane_base_url == "https://api.tensormesh.ai"
    assert config.timeout == 60.0
    assert config.max_retries == 2
    assert config.inference_api_key is None
    assert config.control_plane_token is None
    assert config.ca_bundle is None
    assert set(config.sources.values()) == {"default"}


def test_argument_beats_environment_beats_default(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    env = {
        "TENSORMESH_SERVERLESS_BASE_URL": "http://env-serverless:1/",
        "TENSORMESH_CONTROL_PLANE_BASE_URL": "http://env-cp:2",
        "TENSORMESH_INFERENCE_API_KEY": "env-key",
        "TENSORMESH_CONTROL_PLANE_TOKEN": "env-token",
        "TENSORMESH_TIMEOUT_SECONDS": "7.5",
        "TENSORMESH_MAX_RETRIES": "5",
        "TENSORMESH_CA_BUNDLE": str(bundle),
    }
    config = resolve_config(env=env, inference_api_key="arg-key", timeout=3)
    assert config.inference_api_key == "arg-key"
    assert config.timeout == 3.0
    assert config.serverless_base_url == "http://env-serverless:1"  # trailing slash dropped
    assert config.control_plane_token == "env-token"
    assert config.max_retries == 5
    assert config.ca_bundle == str(bundle)
    assert config.sources["inference_api_key"] == "argument"
    assert config.sources["max_retries"] == "environment"


def test_empty_environment_variable_counts_as_unset() -> None:
    config = resolve_config(env={"TENSORMESH_TIMEOUT_SECONDS": " ", "TENSORMESH_MAX_RETRIES": ""})
    assert config.timeout == 60.0
    assert config.max_retries == 2


def test_config_is_frozen_and_hides_secrets() -> None:
    config = resolve_config(env={}, inference_api_key="sk-very-secret", control_plane_token="tok")
    with pytest.raises(AttributeError):
        config.timeout = 1  # type: ignore[misc]
    assert "sk-very-secret" not in repr(config)
    assert "tok" not in repr(config)
    client = Tensormesh(env={}, inference_api_key="sk-very-secret")
    assert client.config.inference_api_key == "sk-very-secret"
    assert "sk-very-secret" not in repr(client)
    client.close()


@pytest.mark.parametrize(
    ("kwargs", "env", "expected"),
    [
        ({}, {"TENSORMESH_TIMEOUT_SECONDS": "soon"}, "TENSORMESH_TIMEOUT_SECONDS='soon'"),
        ({"timeout": -1}, {}, "timeout=-1"),
        ({"timeout": 0}, {}, "timeout=0"),
        ({}, {"TENSORMESH_MAX_RETRIES": "-2"}, "TENSORMESH_MAX_RETRIES='-2'"),
        ({"max_retries": -1}, {}, "max_retries=-1"),
        ({}, {"TENSORMESH_MAX_RETRIES": "two"}, "TENSORMESH_MAX_RETRIES='two'"),
        ({"serverless_base_url": "ftp://x"}, {}, "serverless_base_url='ftp://x'"),
        ({}, {"TENSORMESH_CONTROL_PLANE_BASE_URL": "localhost:8470"}, "localhost:8470"),
        ({}, {"TENSORMESH_CA_BUNDLE": "/nonexistent/ca.pem"}, "TENSORMESH_CA_BUNDLE="),
        ({"ca_bundle": "/nonexistent/ca.pem"}, {}, "ca_bundle='/nonexistent/ca.pem'"),
        ({}, {"TENSORMESH_LOG": "loud"}, "TENSORMESH_LOG='loud'"),
    ],
)
def test_bad_values_raise_configuration_error_naming_the_setting(
    kwargs: dict[str, object], env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Tensormesh(env=env, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert any(word in message for word in ("set ", "pass ", "Point it", "use e.g", "one of"))


def test_environment_error_says_how_to_fix_it() -> None:
    with pytest.raises(ConfigurationError, match=r"set TENSORMESH_TIMEOUT_SECONDS=60 or unset it"):
        resolve_config(env={"TENSORMESH_TIMEOUT_SECONDS": "abc"})


def test_ca_bundle_that_is_not_pem_is_a_configuration_error(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="ca_bundle"):
        Tensormesh(env={}, ca_bundle=str(bundle))


def test_missing_credential_is_not_an_error_at_construction() -> None:
    client = Tensormesh(env={})
    assert client.config.inference_api_key is None
    client.close()


def test_os_environ_is_used_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORMESH_MAX_RETRIES", "4")
    assert resolve_config().max_retries == 4
