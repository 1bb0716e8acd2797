"""`tm infer doctor`: is this machine ready to use the serverless API? One row per check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from tensormesh_cli.errors import EXIT_AUTH, EXIT_ERROR, CliError
from tensormesh_cli.render import View, emit, format_columns
from tensormesh_cli.state import CliState, get_state

OK, FAIL, SKIP = "ok", "fail", "skip"
PING_TEXT = "ping"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    auth: bool = False  # a failure that a valid inference API key would fix


@click.command()
@click.option("--model", "-m", help="Model for the API key check (default: the first listed).")
@click.option("--exit-status", is_flag=True, help="Exit non-zero when not ready (4: key problem).")
def doctor(model: str | None, exit_status: bool) -> None:
    """Check the configuration, the serverless API and the inference API key."""
    state = get_state()
    checks = run_checks(state, model)
    ready = all(check.status == OK for check in checks)
    rows = [{"check": c.name, "status": c.status, "detail": c.detail} for c in checks]
    emit(
        View(
            data={"ready": ready, "checks": rows},
            text=format_columns(rows) + f"\n\n{'ready' if ready else 'NOT ready'}",
            rows=rows,
            columns=("check", "status", "detail"),
        ),
        state.output,
    )
    if exit_status and not ready:
        raise click.exceptions.Exit(readiness_exit_code(checks))


def readiness_exit_code(checks: list[Check]) -> int:
    """4 when only the inference API key stands in the way, 1 for anything else."""
    failed = [check for check in checks if check.status == FAIL]
    if failed and all(check.auth for check in failed):
        return EXIT_AUTH
    return EXIT_ERROR


def run_checks(state: CliState, model: str | None) -> list[Check]:
    """Run the checks in order; a failure skips the checks that depend on it."""
    try:
        settings = state.settings
    except CliError as exc:
        failed = Check("config", FAIL, exc.format_message())
        return [failed, *_skipped("reachable", "health", "models", "api key", "api key accepted")]
    config_note = "found" if state.config_file.exists else "not found, defaults used"
    checks = [Check("config", OK, f"{settings.config_path} ({config_note})")]
    serverless = state.client().inference.serverless
    base = settings.serverless_base

    reachable = _attempt("reachable", lambda: f"{base}, version {serverless.version.get().version}")
    checks.append(reachable)
    if reachable.status != OK:
        return [*checks, *_skipped("health", "models", "api key", "api key accepted")]
    checks.append(_attempt("health", lambda: str(serverless.health.get().status)))
    available: list[str] = []

    def list_models() -> str:
        available.extend(item.id for item in serverless.models.list().data)
        if not available:
            raise _CheckFailed("the server offers no models")
        return ", ".join(available)

    checks.append(_attempt("models", list_models))
    key = settings.sources["gateway_api_key"]
    if key.value is None:
        checks.append(
            Check(
                "api key",
                FAIL,
                "no inference API key: set TENSORMESH_INFERENCE_API_KEY or "
                "[overrides].gateway_api_key in config.toml",
                auth=True,
            )
        )
        return [*checks, *_skipped("api key accepted")]
    checks.append(Check("api key", OK, f"from {key.origin}"))
    probe_model = model or (available[0] if available else None)
    if probe_model is None:
        return [*checks, *_skipped("api key accepted")]
    checks.append(
        _attempt(
            "api key accepted",
            lambda: (
                f"tokenized {PING_TEXT!r} with {probe_model} "
                f"({serverless.tokenize.create(model=probe_model, prompt=PING_TEXT).count} tokens)"
            ),
        )
    )
    return checks


class _CheckFailed(Exception):
    """A check's own failure (not an SDK error)."""


def _attempt(name: str, probe: Callable[[], str]) -> Check:
    import tensormesh
    from tensormesh_cli.error_messages import connection_reason

    try:
        return Check(name, OK, probe())
    except _CheckFailed as exc:
        return Check(name, FAIL, str(exc))
    except tensormesh.AuthenticationError as exc:
        return Check(name, FAIL, str(exc), auth=True)
    except tensormesh.APIConnectionError as exc:
        if isinstance(exc, tensormesh.APITimeoutError):
            return Check(name, FAIL, "timed out")
        return Check(name, FAIL, connection_reason(exc))
    except tensormesh.TensormeshError as exc:
        return Check(name, FAIL, _detail(exc))


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("status"), str):
        return f"{getattr(exc, 'status_code', '')} {body['status']}".strip()
    return str(exc)


def _skipped(*names: str) -> list[Check]:
    return [Check(name, SKIP, "skipped") for name in names]
