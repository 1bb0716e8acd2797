"""Schemathesis fuzzing of both OpenAPI documents against a real server: no 5xx, and every
reply matches the document. TENSORMESH_FUZZ_EXAMPLES (default 8) sets the cases per operation."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import FailureGroup

from .conftest import MODEL, Stack
from .figures import count, detail

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("TENSORMESH_FUZZ_EXAMPLES", "8"))

EXCLUDED: dict[str, str] = {}
"""Operations left out of fuzzing, each with the bug that keeps it out ("METHOD /path": bug)."""


@dataclass
class Figures:
    """What the fuzzing did, printed at the end."""

    operations: int = 0
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def _with_model(case: Any) -> Any:
    """The case aimed at the served model, so that the fuzzing reaches the engine."""
    if isinstance(case.body, dict):
        case.body["model"] = MODEL
    return case


def _fuzz(url: str, token: str, figures: Figures, *, aim: bool = False) -> None:
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    headers = {"authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in EXCLUDED:
            continue
        figures.operations += 1
        strategy = operation.as_strategy()
        if aim:
            strategy = strategy | strategy.map(_with_model)
        _run(strategy, headers, label, figures)


def _run(strategy: Any, headers: dict[str, str], label: str, figures: Figures) -> None:
    failures: list[str] = []

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def one_case(case: Any) -> None:
        figures.cases += 1
        response = case.call(headers=headers, timeout=30)
        figures.statuses[response.status_code] = figures.statuses.get(response.status_code, 0) + 1
        checks: list[Callable[..., Any]] = [not_a_server_error, response_schema_conformance]
        try:
            case.validate_response(response, checks=checks)
        except (AssertionError, FailureGroup) as error:
            found = getattr(error, "exceptions", [error])
            titles = "; ".join(str(getattr(e, "title", e)).splitlines()[0] for e in found)
            failures.append(f"{label}: {titles} ({case.as_curl_command()})")

    one_case()
    figures.failures.extend(failures[:3])


@pytest.fixture(scope="module")
def figures(stack: Stack) -> Figures:
    """The figures of one server (one database backend)."""
    return Figures()


def test_fuzz_control_plane(stack: Stack, figures: Figures) -> None:
    _fuzz(stack.server.controlplane_url, stack.admin_token, figures)
    assert "Traceback" not in stack.server.log()
    assert not figures.failures, "\n".join(figures.failures)


def test_fuzz_serverless(stack: Stack, figures: Figures) -> None:
    _fuzz(stack.server.serverless_url, stack.user_key, figures, aim=True)
    count("fuzz cases tried", figures.cases)
    detail(
        f"fuzzing ({stack.backend}): {figures.operations} operations fuzzed, "
        f"{figures.cases} cases tried, "
        f"{len(figures.failures)} failures; replies by status {sorted(figures.statuses.items())}"
    )
    assert not figures.failures, "\n".join(figures.failures)
