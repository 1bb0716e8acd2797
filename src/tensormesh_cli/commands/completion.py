"""`tm completion bash|zsh|fish`: print the shell completion script of `tm`."""

from __future__ import annotations

import click

PROG_NAME = "tm"
COMPLETE_VAR = "_TM_COMPLETE"  # click's protocol: the script calls `tm` with this variable set
SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:  eval "$(tm completion bash)"        (e.g. in ~/.bashrc)
    zsh:   eval "$(tm completion zsh)"         (e.g. in ~/.zshrc)
    fish:  tm completion fish > ~/.config/fish/completions/tm.fish
    """
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    if completer is None:  # click knows every shell offered above
        raise click.UsageError(f"no completion for {shell}")
    root = ctx.find_root().command
    click.echo(completer(root, {}, PROG_NAME, COMPLETE_VAR).source())


__all__ = ["completion"]
