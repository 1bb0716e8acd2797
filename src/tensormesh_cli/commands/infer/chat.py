"""`tm infer chat`: one chat completion, or an interactive chat on a terminal."""

from __future__ import annotations

from typing import Any

import click

from tensormesh_cli.commands.infer.generation import assemble_request, run_generation
from tensormesh_cli.commands.infer.model_choice import choose_model
from tensormesh_cli.commands.infer.options import generation_options, set_fields
from tensormesh_cli.commands.infer.request_input import (
    chat_messages,
    read_payload,
    split_request,
    stdin_is_terminal,
)
from tensormesh_cli.state import get_state


@click.command()
@click.argument("prompt", required=False)
@generation_options
@click.option("--system", "-s", help="A system message put before the conversation.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Most tokens to generate.")
def chat(
    prompt: str | None,
    model: str | None,
    json_text: str | None,
    file: str | None,
    stream: bool | None,
    temperature: float | None,
    show_usage: bool,
    system: str | None,
    max_tokens: int | None,
) -> None:
    """Send PROMPT (or --json/--file/stdin: a messages array or a full request) to a model.

    With no input on a terminal, opens an interactive chat (/exit or Ctrl-D to leave).
    """
    state = get_state()
    payload = read_payload(json_text, file, use_stdin=prompt is None)
    fields = set_fields(max_tokens=max_tokens, temperature=temperature)
    if payload is None and prompt is None and stdin_is_terminal():
        from tensormesh_cli.commands.infer.interactive import run_interactive

        state.require_inference_key()
        chosen = choose_model(state, model)
        run_interactive(state, chosen, system=system, fields=fields, show_usage=show_usage)
        return
    body = split_request(payload, "messages")
    messages = chat_messages(body.primary, prompt=prompt, system=system)
    state.require_inference_key()
    streaming = stream if stream is not None else bool(body.stream)
    request = assemble_request(
        {"model": choose_model(state, model, body.model), "messages": messages},
        fields,
        body.extra,
        include_usage=streaming,
    )
    run_generation(
        state,
        state.client().inference.serverless.chat.completions,
        request,
        stream=streaming,
        show_usage=show_usage,
        text_of=_reply_text,
    )


def _reply_text(completion: Any) -> str:
    """The assistant's text, or its tool calls as JSON when it answered with those."""
    if not completion.choices:
        return ""
    message = completion.choices[0].message
    if message.content is None and getattr(message, "tool_calls", None):
        from tensormesh_cli.render import dump_json, to_plain

        return dump_json(to_plain(message.tool_calls))
    return str(message.content or "")
