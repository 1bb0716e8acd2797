"""Log lines and status changes of deployments, buffered in memory and written to the database
by the registry in one transaction per poll (never on the request path)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from tensormesh.types.operations import DeploymentStatus
from tensormesh_server.metrics import Metrics

logger = logging.getLogger("tensormesh_server")

LogLine = tuple[str, datetime, str]
"""(deployment id, time, message)"""

MAX_PENDING = 10_000
"""Lines kept while the database is unreachable (the oldest are dropped beyond this)."""


@dataclass(frozen=True)
class StatusChange:
    """A deployment went UP or DOWN (or failed to start), with the reason."""

    deployment_id: str
    status: DeploymentStatus
    reason: str
    at: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Logbook:
    """Pending log lines `(deployment id, time, message)` and status changes."""

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self.clock = clock
        self.lines: list[LogLine] = []
        self.changes: list[StatusChange] = []

    def write(self, deployment_id: str, message: str, *, echo: bool = True) -> None:
        """Add a line to the deployment's log (and, with `echo`, to the server's stderr)."""
        if echo:
            logger.info("model deployment %s: %s", deployment_id, message)
        self.lines.append((deployment_id, self.clock(), message))
        del self.lines[:-MAX_PENDING]

    def status(self, deployment_id: str, status: DeploymentStatus, reason: str) -> None:
        """Record a status change (and log it)."""
        self.write(deployment_id, f"{status.value}: {reason}")
        self.changes.append(StatusChange(deployment_id, status, reason, self.clock()))

    def drain(self) -> tuple[list[LogLine], list[StatusChange]]:
        """Take everything pending."""
        lines, changes = self.lines, self.changes
        self.lines, self.changes = [], []
        return lines, changes

    def restore(self, lines: list[LogLine], changes: list[StatusChange]) -> None:
        """Put back what could not be written (kept for the next attempt)."""
        self.lines[:0] = lines
        self.changes[:0] = changes
        del self.lines[:-MAX_PENDING]


class LoggingMetrics(Metrics):
    """The gateway's metrics, also writing one line per request of a deployed model."""

    def __init__(self, logbook: Logbook) -> None:
        super().__init__()
        self.logbook = logbook
        self.deployment_of: dict[str, str] = {}
        """Model id -> deployment id, for the deployed models."""

    def finished(self, route: str, model: str, status: int, seconds: float) -> None:
        super().finished(route, model, status, seconds)
        deployment_id = self.deployment_of.get(model)
        if deployment_id is not None:
            line = f"POST /v1/{route} {status} {seconds * 1000:.0f}ms"
            self.logbook.write(deployment_id, line, echo=False)
