"""Where config.toml lives, reading it (one clear error when malformed) and writing it safely."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tensormesh_cli.errors import CliError
from tensormesh_cli.files import write_private_file

CONFIG_HOME_ENV = "TM_CONFIG_HOME"
CONFIG_FILE_NAME = "config.toml"
KEY_TABLES = ("overrides", "managed")  # tables holding gateway_api_key; the first one wins


def config_home(environ: Mapping[str, str]) -> Path:
    """`$TM_CONFIG_HOME`, else `~/.config/tensormesh`."""
    configured = environ.get(CONFIG_HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "tensormesh"


def default_config_path(environ: Mapping[str, str]) -> Path:
    return config_home(environ) / CONFIG_FILE_NAME


@dataclass(frozen=True)
class ConfigFile:
    """The parsed content of config.toml (empty when the file does not exist)."""

    path: Path
    exists: bool
    data: Mapping[str, Any] = field(default_factory=dict)

    def lookup(self, key: str) -> tuple[Any, str] | None:
        """The value of `key` and where in the file it was found, or None when unset.

        `gateway_api_key` is read from `[overrides]`, then `[managed]`; the rest from the top level.
        """
        if key == "gateway_api_key":
            for table_name in KEY_TABLES:
                table = self.data.get(table_name)
                if isinstance(table, Mapping) and table.get(key) is not None:
                    return table[key], f"{self.path} [{table_name}]"
            return None
        if self.data.get(key) is None:
            return None
        return self.data[key], str(self.path)


def _parse_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    data: dict[str, Any] = tomllib.loads(text)
    return data


def load_config(path: Path) -> ConfigFile:
    """Read `path`; a missing file is an empty config, a malformed one a CliError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ConfigFile(path=path, exists=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read config file {path}: {exc}") from None
    try:
        data = _parse_toml(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise CliError(f"malformed config file {path}: {exc}") from None
    for table_name in KEY_TABLES:
        if table_name in data and not isinstance(data[table_name], dict):
            raise CliError(f"malformed config file {path}: [{table_name}] must be a table")
    return ConfigFile(path=path, exists=True, data=data)


def write_config(path: Path, data: Mapping[str, Any], header: str = "") -> None:
    """Write `data` as TOML to `path` atomically with mode 0600."""
    import tomli_w

    write_private_file(path, header + tomli_w.dumps(dict(data)))
