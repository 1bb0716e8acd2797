"""`tm`: the root group, its global options, and the one place where errors become exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from tensormesh_cli.errors import EXIT_INTERRUPTED
from tensormesh_cli.lazy_group import LazyCommand, LazyGroup
from tensormesh_cli.render import OUTPUT_FORMATS
from tensormesh_cli.state import CliState

# Each group lives in its own module, imported only when it runs (keeps `tm --help` fast).
COMMANDS = {
    "activities": LazyCommand(
        "tensormesh_cli.commands.activities:activities",
        "The audit trail: who changed what, and when.",
    ),
    "admin": LazyCommand(
        "tensormesh_cli.commands.admin:admin", "Administration (admins only): billing, ..."
    ),
    "auth": LazyCommand(
        "tensormesh_cli.commands.auth:auth", "Log in to the control plane (browser login)."
    ),
    "billing": LazyCommand(
        "tensormesh_cli.commands.billing:billing",
        "Balance, transactions, spending, prices, billing address.",
    ),
    "completion": LazyCommand(
        "tensormesh_cli.commands.completion:completion",
        "Print the shell completion script (bash, zsh, fish).",
    ),
    "config": LazyCommand(
        "tensormesh_cli.commands.config:config", "Create, show and change config.toml."
    ),
    "cost": LazyCommand(
        "tensormesh_cli.commands.cost:cost", "What your serverless usage cost, per model and day."
    ),
    "doctor": LazyCommand(
        "tensormesh_cli.commands.doctor:doctor",
        "Check that this machine is ready (both APIs).",
    ),
    "infer": LazyCommand(
        "tensormesh_cli.commands.infer:infer", "Serverless inference: chat, completions, ..."
    ),
    "logs": LazyCommand(
        "tensormesh_cli.commands.logs:logs", "Print a deployed model's log lines (-f to follow)."
    ),
    "metrics": LazyCommand(
        "tensormesh_cli.commands.metrics:metrics", "Request metrics over time: a table and charts."
    ),
    "models": LazyCommand(
        "tensormesh_cli.commands.models:models", "Deployed models: list, get, deploy, delete."
    ),
    "products": LazyCommand(
        "tensormesh_cli.commands.products:products", "Products (GPU offerings)."
    ),
    "reserved-deployments": LazyCommand(
        "tensormesh_cli.commands.reserved_deployments:reserved_deployments",
        "Ask for reserved GPU capacity.",
    ),
    "server": LazyCommand(
        "tensormesh_cli.commands.server:server", "Run the local Tensormesh platform server."
    ),
    "tickets": LazyCommand(
        "tensormesh_cli.commands.tickets:tickets", "Support tickets: list, open, reply, close."
    ),
    "users": LazyCommand(
        "tensormesh_cli.commands.users:users", "Your user: profile, terms of service, API keys."
    ),
    "version": LazyCommand(
        "tensormesh_cli.commands.version:version", "Show the CLI, SDK and server versions."
    ),
}


class RootGroup(LazyGroup):
    """The `tm` group: every error raised below it leaves as one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # The reader went away (`tm ... | head`): stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None
        except Exception as exc:
            from tensormesh_cli.error_messages import describe

            state = ctx.find_object(CliState)
            if state is not None and state.debug:
                import traceback

                traceback.print_exc()
            raise describe(exc, state) from None


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from tensormesh_cli import versions

    click.echo(f"tm {versions.cli_version()}")
    ctx.exit()


@click.group(
    cls=RootGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(OUTPUT_FORMATS),
    default="text",
    show_default=True,
    help="How results are printed.",
)
@click.option("--timeout", type=float, help="Request timeout in seconds.")
@click.option("--max-retries", type=int, help="Retries for idempotent requests.")
@click.option("--ca-bundle", help="CA bundle file for TLS verification.")
@click.option("--controlplane-base", help="Control plane API base URL.")
@click.option("--serverless-base", help="Serverless inference API base URL.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="config.toml to use (default: $TM_CONFIG_HOME/config.toml or ~/.config/tensormesh/).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only results, no messages.")
@click.option("--debug", is_flag=True, help="Log SDK requests to stderr (TENSORMESH_LOG=debug).")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    output: str,
    timeout: float | None,
    max_retries: int | None,
    ca_bundle: str | None,
    controlplane_base: str | None,
    serverless_base: str | None,
    config_path: Path | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Tensormesh command line: serverless inference, control-plane login and API keys,
    configuration and a local server.

    Settings resolve per field: flag > environment > config.toml > built-in default.
    """
    environ = dict(os.environ)
    if debug:  # the SDK logs requests to stderr, secrets redacted
        environ["TENSORMESH_LOG"] = "debug"
    state = CliState(
        flags={
            "timeout_seconds": timeout,
            "max_retries": max_retries,
            "ca_bundle": ca_bundle,
            "controlplane_base": controlplane_base,
            "serverless_base": serverless_base,
        },
        output=output,
        quiet=quiet,
        debug=debug,
        config_path=config_path,
        environ=environ,
    )
    ctx.obj = state
    ctx.call_on_close(state.close)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="tm")


__all__ = ["cli", "main"]
