"""`tm infer responses`: the Responses API."""

from __future__ import annotations

import click

from tensormesh_cli.commands.infer.generation import assemble_request, run_generation
from tensormesh_cli.commands.infer.model_choice import choose_model
from tensormesh_cli.commands.infer.options import generation_options, set_fields
from tensormesh_cli.commands.infer.request_input import read_payload, split_request
from tensormesh_cli.errors import InputError
from tensormesh_cli.state import get_state


@click.command()
@click.argument("input_text", metavar="INPUT", required=False)
@generation_options
@click.option("--instructions", "-i", help="System-level instructions for the model.")
@click.option("--max-output-tokens", type=click.IntRange(min=1), help="Most tokens to generate.")
def responses(
    input_text: str | None,
    model: str | None,
    json_text: str | None,
    file: str | None,
    stream: bool | None,
    temperature: float | None,
    show_usage: bool,
    instructions: str | None,
    max_output_tokens: int | None,
) -> None:
    """Answer INPUT (or --json/--file/stdin: input items or a full request object)."""
    state = get_state()
    payload = read_payload(json_text, file, use_stdin=input_text is None)
    body = split_request(payload, "input")
    given = input_text if input_text is not None else body.primary
    if not given:
        raise InputError("nothing to send: give INPUT, --json, --file or pipe input to stdin")
    state.require_inference_key()
    fields = set_fields(
        instructions=instructions, max_output_tokens=max_output_tokens, temperature=temperature
    )
    request = assemble_request(
        {"model": choose_model(state, model, body.model), "input": given}, fields, body.extra
    )
    run_generation(
        state,
        state.client().inference.serverless.responses,
        request,
        stream=stream if stream is not None else bool(body.stream),
        show_usage=show_usage,
        text_of=lambda result: str(result.output_text),
    )
