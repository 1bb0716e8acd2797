"""`tm infer tokenize` and `tm infer detokenize`."""

from __future__ import annotations

import sys
from typing import Any

import click

from tensormesh_cli.commands.infer.generation import call
from tensormesh_cli.commands.infer.model_choice import choose_model
from tensormesh_cli.commands.infer.options import set_fields
from tensormesh_cli.commands.infer.request_input import parse_json, stdin_is_terminal
from tensormesh_cli.errors import InputError
from tensormesh_cli.render import View, emit
from tensormesh_cli.state import get_state

_model_option = click.option("--model", "-m", help="Model id (default: $TM_MODEL or the only one).")


@click.command()
@click.argument("text", required=False)
@_model_option
@click.option("--messages", "messages_json", metavar="JSON", help="Chat messages (JSON array).")
@click.option(
    "--special-tokens/--no-special-tokens",
    default=None,
    help="Add the model's special tokens (text; server default: yes).",
)
@click.option("--token-strs", is_flag=True, help="Also return each token's text.")
def tokenize(
    text: str | None,
    model: str | None,
    messages_json: str | None,
    special_tokens: bool | None,
    token_strs: bool,
) -> None:
    """Turn TEXT (or stdin, or --messages with the chat template) into token ids."""
    state = get_state()
    if messages_json is not None and text is not None:
        raise InputError("give either TEXT or --messages, not both")
    fields = set_fields(
        add_special_tokens=special_tokens, return_token_strs=True if token_strs else None
    )
    if messages_json is not None:
        messages = parse_json(messages_json, "--messages")
        if not isinstance(messages, list):
            raise InputError("--messages must be a JSON array of {role, content} objects")
        fields["messages"] = messages
    else:
        fields["prompt"] = text if text is not None else _stdin_text("TEXT")
    state.require_inference_key()
    resource = state.client().inference.serverless.tokenize
    result, raw = call(resource, "create", state.output, model=choose_model(state, model), **fields)
    lines = [f"count: {result.count}", "tokens: " + " ".join(str(t) for t in result.tokens)]
    if result.token_strs is not None:
        lines.append("token_strs: " + " ".join(repr(piece) for piece in result.token_strs))
    emit(View(data=result, text="\n".join(lines), raw=raw), state.output)


@click.command()
@click.argument("tokens", nargs=-1, type=int)
@_model_option
def detokenize(tokens: tuple[int, ...], model: str | None) -> None:
    """Turn token ids (arguments, or a JSON array / whitespace-separated ids on stdin) into text."""
    state = get_state()
    ids = list(tokens) if tokens else _stdin_ids()
    state.require_inference_key()
    resource = state.client().inference.serverless.detokenize
    result, raw = call(
        resource, "create", state.output, model=choose_model(state, model), tokens=ids
    )
    emit(View(data=result, text=str(result.prompt), raw=raw), state.output)


def _stdin_text(what: str) -> str:
    if stdin_is_terminal():
        raise InputError(f"give {what} or pipe it to stdin")
    return sys.stdin.read()


def _stdin_ids() -> list[int]:
    text = _stdin_text("token ids").strip()
    parsed: Any = parse_json(text, "stdin") if text.startswith("[") else text.split()
    try:
        ids = [int(item) for item in parsed]
    except (TypeError, ValueError):
        raise InputError("token ids must be whole numbers") from None
    if not ids:
        raise InputError("no token ids given")
    return ids
