"""What one `tm` invocation knows: global options, resolved settings and its one SDK client."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.config_file import ConfigFile, default_config_path, load_config
from tensormesh_cli.errors import AuthRequired
from tensormesh_cli.settings import Settings, resolve_settings

if TYPE_CHECKING:
    from tensormesh import Tensormesh

CONTROL_PLANE_TOKEN_ENV = "TENSORMESH_CONTROL_PLANE_TOKEN"


class CliState:
    """Shared by every command of one invocation (click's `ctx.obj`).

    Settings are resolved on first use, so `tm config init --force` still works when the existing
    config.toml is malformed. The SDK client is created once and closed when the command ends.
    """

    def __init__(
        self,
        *,
        flags: Mapping[str, Any],
        output: str,
        quiet: bool,
        debug: bool,
        config_path: Path | None,
        environ: Mapping[str, str],
    ) -> None:
        self.flags = dict(flags)
        self.output = output
        self.quiet = quiet
        self.debug = debug
        self.environ = dict(environ)
        self.config_path = config_path or default_config_path(self.environ)
        self._client: Tensormesh | None = None

    @cached_property
    def config_file(self) -> ConfigFile:
        return load_config(self.config_path)

    @cached_property
    def settings(self) -> Settings:
        return resolve_settings(self.flags, self.environ, self.config_file)

    def client(self) -> Tensormesh:
        """The invocation's SDK client (one connection pool), given every resolved value."""
        if self._client is None:
            self._client = self.new_client(self.settings.control_plane_token)
        return self._client

    def new_client(self, control_plane_token: str | None) -> Tensormesh:
        """A new SDK client (the caller closes it) with every resolved value and exactly
        `control_plane_token` (None: no control-plane credential, not even the environment's)."""
        from tensormesh import Tensormesh

        settings = self.settings
        return Tensormesh(
            serverless_base_url=settings.serverless_base,
            control_plane_base_url=settings.controlplane_base,
            inference_api_key=settings.gateway_api_key,
            control_plane_token=control_plane_token,
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
            ca_bundle=settings.ca_bundle,
            env={k: v for k, v in self.environ.items() if k != CONTROL_PLANE_TOKEN_ENV},
        )

    def require_inference_key(self) -> None:
        """Fail with exit code 4 before a request that needs an inference API key we do not have."""
        if self.settings.gateway_api_key is None:
            raise AuthRequired(
                "no inference API key configured: set TENSORMESH_INFERENCE_API_KEY or "
                f"`gateway_api_key` under [overrides] in {self.config_path} "
                "(tm config set gateway_api_key KEY)"
            )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def say(self, message: str) -> None:
        """An informational message on stderr (silenced by --quiet)."""
        if not self.quiet:
            click.echo(message, err=True)


def get_state() -> CliState:
    """The current invocation's state (commands call this instead of taking a parameter)."""
    state = click.get_current_context().find_object(CliState)
    if state is None:  # only when a command is invoked outside the `tm` root group
        raise RuntimeError("tm command invoked without the root group's state")
    return state
