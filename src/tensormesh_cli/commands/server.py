"""`tm server up`: run the local Tensormesh platform server (imported lazily by `tm`)."""

from __future__ import annotations

import os

import click

_ROLES = ("all", "gateway", "controlplane")


@click.group("server")
def server() -> None:
    """Run the local Tensormesh platform server."""


@server.command("up")
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option(
    "--serverless-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serverless inference port (env TENSORMESH_SERVERLESS_PORT, default 8471).",
)
@click.option(
    "--controlplane-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Control plane port (env TENSORMESH_CONTROLPLANE_PORT, default 8470; reserved).",
)
@click.option(
    "--role", type=click.Choice(_ROLES), default=None, help="Which surface to run (default all)."
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help="Inference API key to accept; repeatable (env TENSORMESH_SERVER_API_KEYS, comma list).",
)
@click.option(
    "--embedded-model",
    default=None,
    help="GGUF file for the embedded engine (env TENSORMESH_EMBEDDED_MODEL).",
)
@click.option("--no-embedded", is_flag=True, help="Do not load the embedded model.")
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    metavar="ID=URL[,URL...]",
    help="Serve model ID from OpenAI-compatible replica URLs; repeatable.",
)
@click.option(
    "--models-file",
    default=None,
    help="TOML file with [[models]] entries (env TENSORMESH_SERVER_MODELS_FILE).",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0),
    default=None,
    help="Seconds in-flight requests get on SIGTERM (env TENSORMESH_SERVER_SHUTDOWN_SECONDS, 10).",
)
def up(
    host: str | None,
    serverless_port: int | None,
    controlplane_port: int | None,
    role: str | None,
    api_keys: tuple[str, ...],
    embedded_model: str | None,
    no_embedded: bool,
    upstreams: tuple[str, ...],
    models_file: str | None,
    shutdown_timeout: float | None,
) -> None:
    """Start the server; SIGTERM or Ctrl-C stops it gracefully."""
    from tensormesh_server.settings import ServerFlags, SettingsError, resolve_settings
    from tensormesh_server.tokens import new_inference_key

    flags = ServerFlags(
        host=host,
        serverless_port=serverless_port,
        controlplane_port=controlplane_port,
        role=role,
        api_keys=api_keys,
        embedded_model=embedded_model,
        no_embedded=no_embedded,
        upstreams=upstreams,
        models_file=models_file,
        shutdown_seconds=shutdown_timeout,
    )
    try:
        settings = resolve_settings(flags, os.environ, new_key=new_inference_key())
        if settings.role == "controlplane":
            click.echo(
                "error: the control plane arrives in a later release; "
                "run --role all or --role gateway for the serverless surface",
                err=True,
            )
            raise SystemExit(2)
        from tensormesh_server.serve import run

        code = run(settings)
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    raise SystemExit(code)
