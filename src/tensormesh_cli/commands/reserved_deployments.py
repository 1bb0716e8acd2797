"""`tm reserved-deployments submit`: ask the Tensormesh team for dedicated GPU capacity."""

from __future__ import annotations

from typing import Any

import click

from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.prompting import ask
from tensormesh_cli.render import View, emit
from tensormesh_cli.state import get_state

# (parameter, option, prompt label, type); the first ones are asked for when missing.
FIELDS: tuple[tuple[str, str, str, Any], ...] = (
    ("full_name", "--full-name", "Full name", str),
    ("work_email", "--work-email", "Work email", str),
    ("company", "--company", "Company", str),
    ("preferred_gpu", "--preferred-gpu", "Preferred GPU (e.g. H100)", str),
    ("total_gpus_needed", "--total-gpus-needed", "Total GPUs needed", click.IntRange(min=1)),
    ("workload_use_case", "--workload-use-case", "Workload / use case", str),
    ("job_title", "--job-title", "Job title", str),
    ("deployment_timeline", "--deployment-timeline", "Deployment timeline", str),
    ("networking_storage", "--networking-storage", "Networking and storage needs", str),
    ("other_notes", "--other-notes", "Other notes", str),
)
REQUIRED = 6


@click.group("reserved-deployments")
def reserved_deployments() -> None:
    """Requests for reserved (dedicated) GPU deployments."""


def _with_field_options(command: Any) -> Any:
    for index, (name, option, label, kind) in reversed(list(enumerate(FIELDS))):
        needed = " (required; asked for on a terminal)" if index < REQUIRED else ""
        command = click.option(option, name, type=kind, help=f"{label}{needed}.")(command)
    return command


@reserved_deployments.command()
@_with_field_options
def submit(**values: Any) -> None:
    """Submit a request for reserved GPUs (every field has a flag)."""
    state = get_state()
    for name, option, label, kind in FIELDS[:REQUIRED]:
        if values.get(name) is None:
            values[name] = ask(label, option, value_type=kind)
    fields = {name: value for name, value in values.items() if value is not None}
    reply = ControlPlaneSession.for_state(state).call(
        lambda cp: cp.support.reserved_deployments.submit(**fields)
    )
    state.say("Submitted; the Tensormesh team will contact you.")
    emit(View(data=reply, text=f"request id: {reply.request_id}"), state.output)


__all__ = ["reserved_deployments"]
