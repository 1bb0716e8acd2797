"""`tm infer`: the serverless inference API (each subcommand's module is imported on use)."""

from __future__ import annotations

import click

from tensormesh_cli.lazy_group import LazyCommand, LazyGroup

_HERE = "tensormesh_cli.commands.infer"
SUBCOMMANDS = {
    "chat": LazyCommand(f"{_HERE}.chat:chat", "Chat completion (interactive on a terminal)."),
    "completions": LazyCommand(f"{_HERE}.completions:completions", "Text completion."),
    "responses": LazyCommand(f"{_HERE}.responses:responses", "Responses API."),
    "tokenize": LazyCommand(f"{_HERE}.tokens:tokenize", "Turn text or messages into tokens."),
    "detokenize": LazyCommand(f"{_HERE}.tokens:detokenize", "Turn token ids back into text."),
    "models": LazyCommand(f"{_HERE}.status:models", "List the models you can use."),
    "health": LazyCommand(f"{_HERE}.status:health", "Is the serverless API able to serve?"),
    "version": LazyCommand(f"{_HERE}.status:version", "The serverless API's version."),
    "doctor": LazyCommand(f"{_HERE}.doctor:doctor", "Check configuration, reachability and key."),
}


@click.group(cls=LazyGroup, lazy_commands=SUBCOMMANDS)
def infer() -> None:
    """Serverless inference: chat, completions, responses, tokens, models, health."""
