"""`tm infer models`, `health` and `version`: what the serverless API offers and how it is."""

from __future__ import annotations

import click

from tensormesh_cli.commands.infer.generation import call
from tensormesh_cli.errors import CliError
from tensormesh_cli.render import View, emit, to_plain
from tensormesh_cli.state import get_state

MODEL_COLUMNS = ("id", "owned_by", "max_model_len", "created")


@click.command()
def models() -> None:
    """List the models (the ids to pass as --model)."""
    state = get_state()
    result, raw = call(state.client().inference.serverless.models, "list", state.output)
    rows = [to_plain(model) for model in result.data]
    emit(
        View(
            data=result,
            text="\n".join(model.id for model in result.data),
            rows=rows,
            columns=MODEL_COLUMNS,
            raw=raw,
        ),
        state.output,
    )


@click.command()
def health() -> None:
    """Print the serverless API's health; exit 1 when it cannot serve."""
    import tensormesh

    state = get_state()
    try:
        result, raw = call(state.client().inference.serverless.health, "get", state.output)
    except tensormesh.APIStatusError as exc:
        if exc.status_code != 503:
            raise
        status = exc.body.get("status") if isinstance(exc.body, dict) else None
        emit(View(data={"status": status or "unavailable"}), state.output)
        raise CliError(f"the serverless API is not healthy: {status or exc}") from None
    emit(View(data=result, text=str(result.status), raw=raw), state.output)


@click.command()
def version() -> None:
    """Print the serverless API's version."""
    state = get_state()
    result, raw = call(state.client().inference.serverless.version, "get", state.output)
    emit(View(data=result, text=str(result.version), raw=raw), state.output)
