"""`tm models`: models deployed through the control plane (list, get, deploy, delete,
validate-name)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.commands.auth import timestamp_text
from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.errors import CliError
from tensormesh_cli.listing import PageRequest, compact, paging_options, show_listing
from tensormesh_cli.render import View, emit, format_columns, format_text
from tensormesh_cli.state import get_state

if TYPE_CHECKING:
    from tensormesh.types.operations import Deployment

COLUMNS = ("id", "name", "status", "endpoint", "created")
SETTLING = {"DEPLOYING", None}  # statuses `deploy --wait` waits through
POLL_SECONDS = 1.0
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Replaced by tests to wait without waiting.
sleep: Callable[[float], None] = time.sleep
EVENT_COLUMNS = ("time", "event", "log")
USER_ID_HELP = "Another user's models (admins only)."


@click.group()
def models() -> None:
    """Models deployed on the serverless gateway: list, get, deploy, delete."""


def status_text(value: object) -> str | None:
    """`MODEL_STATUS_UP` -> `UP` (the prefix says nothing on a screen)."""
    if value is None:
        return None
    return str(value).removeprefix("MODEL_STATUS_")


def model_row(model: Deployment) -> dict[str, Any]:
    """One deployment as a table row."""
    return {
        "id": model.model_id,
        "name": model.model_name,
        "status": status_text(model.status),
        "endpoint": model.endpoint,
        "created": timestamp_text(model.created_at),
    }


def model_text(model: Deployment) -> str:
    """A deployment's fields, then its status events (oldest first)."""
    fields = {
        "id": model.model_id,
        "name": model.model_name,
        "status": status_text(model.status),
        "description": model.description,
        "path": model.model_path,
        "endpoint": model.endpoint,
        "user_id": model.user_id,
        "created": timestamp_text(model.created_at),
        "updated": timestamp_text(model.updated_at),
    }
    text = format_text({key: value for key, value in fields.items() if value})
    events = [
        {
            "time": timestamp_text(event.created_at),
            "event": event.event_type,
            "log": event.log,
        }
        for event in model.events
    ]
    if events:
        text += "\n\nevents:\n" + format_columns(events, EVENT_COLUMNS)
    return text


def _show(model: Deployment, output: str) -> None:
    emit(View(data=model, text=model_text(model)), output)


@models.command("list")
@click.option("--user-id", help=USER_ID_HELP)
@paging_options
def list_(user_id: str | None, page: int | None, size: int | None, all_pages: bool) -> None:
    """List deployed models (one page, or --all)."""
    state = get_state()
    paging = PageRequest.of(page, size, all_pages)
    filters = compact({"user_id": user_id})
    listing = ControlPlaneSession.for_state(state).call(
        lambda cp: paging.fetch(
            lambda params: cp.models.list(**filters, **params),
            lambda params: cp.models.auto_paging_iter(**filters, **params),
        )
    )
    show_listing(state, listing, "models", model_row, COLUMNS, empty="(no models deployed)")


@models.command()
@click.argument("model_id")
def get(model_id: str) -> None:
    """Show a deployment and its status events."""
    state = get_state()
    reply = ControlPlaneSession.for_state(state).call(lambda cp: cp.models.get(model_id))
    _show(reply.model, state.output)


@models.command()
@click.option("--name", "model_name", required=True, help="The model id clients will use.")
@click.option(
    "--engine",
    help="embedded (a GGUF file run on CPU) or openai (an OpenAI-compatible upstream).",
)
@click.option("--path", "model_path", help="The model file (embedded) or the upstream's name.")
@click.option(
    "--upstream-url",
    "upstream_urls",
    multiple=True,
    help="An upstream replica's base URL (openai engine; repeatable).",
)
@click.option("--max-model-len", type=click.IntRange(min=1), help="Context length in tokens.")
@click.option("--description", help="A note for people.")
@click.option("--wait", is_flag=True, help="Wait until it is up (exit 1 if it goes down).")
@click.option(
    "--wait-timeout",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    metavar="SECONDS",
    help="How long --wait waits.",
)
def deploy(
    model_name: str,
    engine: str | None,
    model_path: str | None,
    upstream_urls: tuple[str, ...],
    max_model_len: int | None,
    description: str | None,
    wait: bool,
    wait_timeout: int,
) -> None:
    """Deploy a model; it appears in the serverless /v1/models once it is up."""
    state = get_state()
    params = compact(
        {
            "engine": engine,
            "model_path": model_path,
            "upstream_urls": list(upstream_urls) or None,
            "max_model_len": max_model_len,
            "description": description,
        }
    )
    session = ControlPlaneSession.for_state(state)
    reply = session.call(lambda cp: cp.models.deploy(model_name=model_name, **params))
    model = reply.model
    state.say(f"Deploying {model.model_name or model_name} as {model.model_id}.")
    if wait:
        model = _wait_until_settled(session, model, wait_timeout)
    _show(model, state.output)
    if wait and status_text(model.status) != "UP":
        raise CliError(f"model {model.model_id} is {status_text(model.status)}: {_reason(model)}")


def _wait_until_settled(
    session: ControlPlaneSession, model: Deployment, timeout: int
) -> Deployment:
    """Poll the deployment until it is no longer deploying (an error after `timeout` s)."""
    model_id = model.model_id
    for _ in range(math.ceil(timeout / POLL_SECONDS)):
        if status_text(model.status) not in SETTLING:
            return model
        sleep(POLL_SECONDS)
        model = session.call(lambda cp: cp.models.get(model_id)).model
    if status_text(model.status) in SETTLING:
        raise CliError(
            f"model {model.model_id} is still {status_text(model.status)} after {timeout} s "
            f"(see `tm models get {model.model_id}` and `tm logs {model.model_id}`)"
        )
    return model


def _reason(model: Deployment) -> str:
    """The log of the newest status event (why a deployment is down)."""
    latest = max(model.events, key=lambda event: event.created_at or _EPOCH, default=None)
    return (latest.log if latest is not None else None) or "no reason given"


@models.command()
@click.argument("model_id")
def delete(model_id: str) -> None:
    """Take a deployment down (the model disappears from /v1/models)."""
    state = get_state()
    ControlPlaneSession.for_state(state).call(lambda cp: cp.models.delete(model_id))
    state.say(f"Deleted model {model_id}.")
    if state.output != "text":
        emit(View(data={"deleted": model_id}), state.output)


@models.command("validate-name")
@click.argument("model_name")
def validate_name(model_name: str) -> None:
    """Check whether a model name may be deployed (exit 1 when it may not)."""
    state = get_state()
    reply = ControlPlaneSession.for_state(state).call(
        lambda cp: cp.models.validate_name(model_name)
    )
    verdict = "valid" if reply.is_valid else "not valid"
    emit(
        View(data={"model_name": model_name, "is_valid": reply.is_valid}, text=verdict),
        state.output,
    )
    if not reply.is_valid:
        raise click.exceptions.Exit(1)


__all__ = ["models"]
