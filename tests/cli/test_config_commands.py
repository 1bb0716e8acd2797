"""`tm config init|set|unset|path` and the private, atomic file writes behind them."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tensormesh_cli.files import write_private_file
from tests.cli.conftest import Tm

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _read(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text())


def test_init_local_writes_a_private_starter_file(tm: Tm, config_home: Path) -> None:
    result = tm("config", "init", "--local", "--gateway-api-key", "tm-key-abcdefghijkl")
    path = config_home / "config.toml"
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # messages go to stderr
    assert str(path) in result.stderr
    assert _mode(path) == 0o600
    data = _read(path)
    assert data["serverless_base"] == "http://127.0.0.1:8471"
    assert data["controlplane_base"] == "http://127.0.0.1:8470"
    assert data["overrides"] == {"gateway_api_key": "tm-key-abcdefghijkl"}


def test_init_explicit_base_wins_over_local(tm: Tm, config_home: Path) -> None:
    tm("config", "init", "--local", "--serverless-base", "http://127.0.0.1:9999/")
    assert _read(config_home / "config.toml")["serverless_base"] == "http://127.0.0.1:9999"


def test_init_refuses_to_overwrite_without_force(tm: Tm, config_home: Path) -> None:
    assert tm("config", "init").exit_code == 0
    refused = tm("config", "init", "--local")
    assert refused.exit_code == 1
    assert "--force" in refused.stderr
    assert "127.0.0.1" not in (config_home / "config.toml").read_text()
    assert tm("config", "init", "--local", "--force").exit_code == 0
    assert "127.0.0.1" in (config_home / "config.toml").read_text()


def test_init_force_repairs_a_malformed_file(tm: Tm, config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "config.toml").write_text("this is [ not toml")
    assert tm("config", "init", "--force").exit_code == 0
    assert _read(config_home / "config.toml")["max_retries"] == 2


def test_init_rejects_a_bad_url(tm: Tm, config_home: Path) -> None:
    result = tm("config", "init", "--serverless-base", "localhost:8471")
    assert result.exit_code == 2
    assert not (config_home / "config.toml").exists()


def test_set_and_unset_keep_other_values(tm: Tm, config_home: Path) -> None:
    tm("config", "init", "--local")
    assert tm("config", "set", "gateway_api_key", "tm-key-abcdefghijkl").exit_code == 0
    assert tm("config", "set", "timeout_seconds", "12.5").exit_code == 0
    data = _read(config_home / "config.toml")
    assert data["overrides"] == {"gateway_api_key": "tm-key-abcdefghijkl"}
    assert data["timeout_seconds"] == 12.5
    assert data["serverless_base"] == "http://127.0.0.1:8471"
    assert _mode(config_home / "config.toml") == 0o600
    assert tm("config", "unset", "gateway_api_key").exit_code == 0
    assert _read(config_home / "config.toml")["overrides"] == {}


def test_set_creates_the_file_and_validates(tm: Tm, config_home: Path) -> None:
    bad = tm("config", "set", "max_retries", "many")
    assert bad.exit_code == 2
    assert "max_retries" in bad.stderr
    assert not (config_home / "config.toml").exists()
    assert tm("config", "set", "max_retries", "3").exit_code == 0
    assert _read(config_home / "config.toml") == {"max_retries": 3}


def test_set_unknown_key_is_a_usage_error(tm: Tm) -> None:
    assert tm("config", "set", "colour", "blue").exit_code == 2


def test_path_prints_the_config_location(tm: Tm, config_home: Path) -> None:
    assert tm("config", "path").stdout.strip() == str(config_home / "config.toml")


def test_private_file_replaces_an_open_file_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "secret.toml"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)
    write_private_file(path, "new")
    assert path.read_text() == "new"
    assert _mode(path) == 0o600
    assert os.listdir(path.parent) == ["secret.toml"]  # no temporary file left behind


def test_private_file_keeps_the_old_content_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.toml"
    path.write_text("old")

    def failing_replace(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_private_file(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["secret.toml"]


def test_private_file_creates_a_private_directory(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "config.toml"
    write_private_file(path, "x = 1\n")
    assert _mode(path.parent) == 0o700


def test_quiet_silences_messages_but_not_data(tm: Tm, config_home: Path) -> None:
    quiet = tm("--quiet", "config", "init")
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert tm("-q", "config", "path").stdout.strip() == str(config_home / "config.toml")
