"""Settings resolve per field: flag > environment > config.toml > default, with their sources."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tensormesh_cli.auth_store import AuthStore, new_login
from tensormesh_cli.config_file import ConfigFile, load_config
from tensormesh_cli.errors import CliError
from tensormesh_cli.settings import (
    DEFAULT_SERVERLESS_BASE,
    mask_secret,
    resolve_settings,
)
from tests.cli.conftest import Tm

CONFIG_URL = "http://config.example:1"
ENV_URL = "http://env.example:2"
FLAG_URL = "http://flag.example:3"


def _config(**data: object) -> ConfigFile:
    return ConfigFile(path=Path("/x/config.toml"), exists=True, data=data)


@pytest.mark.parametrize(
    ("flag", "env", "config", "expected", "source"),
    [
        (FLAG_URL, ENV_URL, CONFIG_URL, FLAG_URL, "flag"),
        (None, ENV_URL, CONFIG_URL, ENV_URL, "env"),
        (None, None, CONFIG_URL, CONFIG_URL, "config"),
        (None, None, None, DEFAULT_SERVERLESS_BASE, "default"),
    ],
)
def test_each_layer_wins_over_the_ones_below(
    flag: str | None, env: str | None, config: str | None, expected: str, source: str
) -> None:
    environ = {"TENSORMESH_SERVERLESS_BASE_URL": env} if env else {}
    data = {"serverless_base": config} if config else {}
    settings = resolve_settings({"serverless_base": flag}, environ, _config(**data))
    assert settings.serverless_base == expected
    assert settings.sources["serverless_base"].source == source


def test_numbers_are_parsed_from_env_and_config() -> None:
    settings = resolve_settings(
        {},
        {"TENSORMESH_TIMEOUT_SECONDS": "2.5"},
        _config(max_retries=5, timeout_seconds=9),
    )
    assert settings.timeout_seconds == 2.5
    assert settings.max_retries == 5
    assert settings.sources["max_retries"].origin == "/x/config.toml"


def test_trailing_slash_is_dropped_from_urls() -> None:
    settings = resolve_settings({}, {}, _config(serverless_base="http://h:1/"))
    assert settings.serverless_base == "http://h:1"


def test_overrides_key_wins_over_managed_key() -> None:
    both = _config(overrides={"gateway_api_key": "override-key"}, managed={"gateway_api_key": "m"})
    managed_only = _config(managed={"gateway_api_key": "managed-key"})
    assert resolve_settings({}, {}, both).gateway_api_key == "override-key"
    resolved = resolve_settings({}, {}, managed_only).sources["gateway_api_key"]
    assert (resolved.value, resolved.origin) == ("managed-key", "/x/config.toml [managed]")


def test_env_key_wins_over_config_key() -> None:
    config = _config(overrides={"gateway_api_key": "file-key"})
    settings = resolve_settings({}, {"TENSORMESH_INFERENCE_API_KEY": "env-key"}, config)
    assert settings.gateway_api_key == "env-key"


@pytest.mark.parametrize(
    ("environ", "config", "named"),
    [
        ({"TENSORMESH_TIMEOUT_SECONDS": "soon"}, {}, "TENSORMESH_TIMEOUT_SECONDS"),
        ({"TENSORMESH_MAX_RETRIES": "-1"}, {}, "TENSORMESH_MAX_RETRIES"),
        ({}, {"serverless_base": "ftp://x"}, "/x/config.toml"),
        ({}, {"timeout_seconds": "slow"}, "/x/config.toml"),
    ],
)
def test_bad_values_name_their_origin(
    environ: dict[str, str], config: dict[str, object], named: str
) -> None:
    with pytest.raises(CliError, match=named):
        resolve_settings({}, environ, _config(**config))


def test_a_bad_secret_is_not_echoed() -> None:
    with pytest.raises(CliError) as caught:
        resolve_settings({}, {}, _config(overrides={"gateway_api_key": 12345}))
    assert "12345" not in caught.value.format_message()


def test_malformed_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("serverless_base = [\n")
    with pytest.raises(CliError, match="malformed config file"):
        load_config(path)
    assert load_config(tmp_path / "missing.toml").exists is False


def test_mask_secret_shows_only_the_ends() -> None:
    assert mask_secret("tm-abcdefghijklmnop") == "tm-a…mnop"
    assert mask_secret("short") == "****"


def test_show_sources_names_every_layer(tm: Tm, config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "config.toml").write_text(
        'controlplane_base = "http://cp.example:9"\n'
        '[overrides]\ngateway_api_key = "tm-secret-key-123456"\n'
    )
    result = tm(
        "--output",
        "json",
        "--timeout",
        "7",
        "config",
        "show",
        "--sources",
        env={"TENSORMESH_SERVERLESS_BASE_URL": ENV_URL},
    )
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)["settings"]
    assert shown["timeout_seconds"] == {"value": 7.0, "source": "flag", "origin": "--timeout"}
    assert shown["serverless_base"]["source"] == "env"
    assert shown["controlplane_base"]["source"] == "config"
    assert shown["max_retries"]["source"] == "default"
    assert shown["gateway_api_key"]["value"] == "tm-s…3456"
    assert "tm-secret-key-123456" not in result.stdout


def test_show_sources_names_auth_json_for_a_saved_login(tm: Tm, config_home: Path) -> None:
    config_home.mkdir()
    base = "http://cp.example:9"
    token = "tm-access-token-abcdefgh"
    AuthStore(config_home / "auth.json").save(new_login(base, token, "r", 3600, time.time()))
    shown = tm("-o", "json", "--controlplane-base", base, "config", "show", "--sources")
    assert shown.exit_code == 0, shown.stderr
    row = json.loads(shown.stdout)["settings"]["control_plane_token"]
    assert row == {
        "value": "tm-a…efgh",
        "source": "auth",
        "origin": str(config_home / "auth.json"),
    }
    assert token not in shown.stdout
    other = tm("-o", "json", "config", "show", "--sources")  # another control plane: no token
    assert json.loads(other.stdout)["settings"]["control_plane_token"]["source"] == "default"
    env = tm(
        "-o",
        "json",
        "--controlplane-base",
        base,
        "config",
        "show",
        "--sources",
        env={"TENSORMESH_CONTROL_PLANE_TOKEN": "tm-from-the-environment"},
    )
    assert json.loads(env.stdout)["settings"]["control_plane_token"]["source"] == "env"


def test_show_text_masks_secrets(tm: Tm) -> None:
    result = tm("config", "show", env={"TENSORMESH_INFERENCE_API_KEY": "tm-secret-key-123456"})
    assert result.exit_code == 0
    assert "gateway_api_key = tm-s…3456" in result.stdout
    assert "tm-secret-key-123456" not in result.output


def test_config_flag_selects_another_file(tm: Tm, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('serverless_base = "http://other.example:5"\n')
    result = tm("--config", str(other), "-o", "json", "config", "show")
    assert json.loads(result.stdout)["settings"]["serverless_base"] == "http://other.example:5"


def test_malformed_config_exits_1_with_one_line(tm: Tm, config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "config.toml").write_text("serverless_base = \n")
    result = tm("config", "show")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("Error: malformed config file")
    assert "Traceback" not in result.output
