"""`tm version`: the CLI and SDK versions, and with --server the serverless API's."""

from __future__ import annotations

import click

from tensormesh_cli import versions
from tensormesh_cli.render import View, emit
from tensormesh_cli.state import get_state


@click.command()
@click.option("--server", is_flag=True, help="Also ask the serverless API for its version.")
def version(server: bool) -> None:
    """Show the CLI, SDK and (with --server) server versions."""
    state = get_state()
    data: dict[str, str] = {
        "cli": versions.cli_version(),
        "sdk": versions.sdk_version(),
        "python": versions.python_version(),
    }
    if server:
        serverless = state.client().inference.serverless
        data["server"] = serverless.version.get().version
        data["serverless_base"] = state.settings.serverless_base
    text = "\n".join(f"{name}: {value}" for name, value in data.items())
    emit(View(data=data, text=text), state.output)
