"""`tm infer completions`: a plain text completion."""

from __future__ import annotations

import click

from tensormesh_cli.commands.infer.generation import assemble_request, run_generation
from tensormesh_cli.commands.infer.model_choice import choose_model
from tensormesh_cli.commands.infer.options import generation_options, set_fields
from tensormesh_cli.commands.infer.request_input import read_payload, split_request
from tensormesh_cli.errors import InputError
from tensormesh_cli.state import get_state


@click.command()
@click.argument("prompt", required=False)
@generation_options
@click.option("--max-tokens", type=click.IntRange(min=1), help="Most tokens to generate.")
def completions(
    prompt: str | None,
    model: str | None,
    json_text: str | None,
    file: str | None,
    stream: bool | None,
    temperature: float | None,
    show_usage: bool,
    max_tokens: int | None,
) -> None:
    """Continue PROMPT (or --json/--file/stdin: a prompt or a full request object)."""
    state = get_state()
    payload = read_payload(json_text, file, use_stdin=prompt is None)
    body = split_request(payload, "prompt")
    text = prompt if prompt is not None else body.primary
    if not text:
        raise InputError("nothing to send: give a PROMPT, --json, --file or pipe input to stdin")
    state.require_inference_key()
    fields = set_fields(max_tokens=max_tokens, temperature=temperature)
    streaming = stream if stream is not None else bool(body.stream)
    request = assemble_request(
        {"model": choose_model(state, model, body.model), "prompt": text},
        fields,
        body.extra,
        include_usage=streaming,
    )
    run_generation(
        state,
        state.client().inference.serverless.completions,
        request,
        stream=streaming,
        show_usage=show_usage,
        text_of=lambda result: str(result.choices[0].text) if result.choices else "",
    )
