"""Which model a command uses: --model, else the request's, else $TM_MODEL, else the only one."""

from __future__ import annotations

from collections.abc import Sequence

from tensormesh_cli.errors import InputError
from tensormesh_cli.state import CliState

MODEL_ENV = "TM_MODEL"


def choose_model(state: CliState, *candidates: str | None) -> str:
    """The first of `candidates` that is set, then $TM_MODEL, then the server's only model."""
    for candidate in (*candidates, state.environ.get(MODEL_ENV)):
        if candidate:
            return candidate
    available = [model.id for model in state.client().inference.serverless.models.list().data]
    return only_model(available)


def only_model(available: Sequence[str]) -> str:
    if len(available) == 1:
        return available[0]
    offered = ", ".join(available) if available else "none"
    raise InputError(f"--model is required (or set {MODEL_ENV}); the server offers: {offered}")
