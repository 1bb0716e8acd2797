"""The registry: the static models plus the Control Plane's deployments, followed by polling.

Every `poll_seconds` (0.5 s) the gateway reads the live deployments (a small query), starts
engines for new ones, stops those deleted, and hands the new model set to its listeners (the
serverless app). Status changes (UP, DOWN with the reason) and log lines are written back in
one transaction per poll. While the database cannot be read the models running keep being
served as they are and the reports wait in memory (one warning when the outage starts, one
line when it ends). Engine start failures (missing or invalid GGUF file, bad upstream)
become a DOWN event, never a crash; the registry does not retry a failed revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from sqlalchemy import select

from tensormesh.types.operations import DeploymentStatus
from tensormesh_server.controlplane.services import deployments
from tensormesh_server.engines import EmbeddedEngine, Engine, build_engines
from tensormesh_server.engines.openai import OpenAICompatibleEngine
from tensormesh_server.engines.upstream import Replica, ReplicaPool
from tensormesh_server.models_config import ModelSpec
from tensormesh_server.store.database import Database, error_reason
from tensormesh_server.store.operations_models import Deployment

from .health import HealthMonitor
from .logbook import Logbook, LoggingMetrics, LogLine, StatusChange

logger = logging.getLogger("tensormesh_server")

POLL_SECONDS = 0.5
RETIRE_GRACE_SECONDS = 30.0
"""How long a removed model's engine keeps serving the requests it already has."""
GGUF_MAGIC = b"GGUF"
READ = "read the deployed models"
WRITE = "write the deployment reports"
Listener = Callable[[Mapping[str, Engine]], None]


@dataclass(frozen=True)
class Wanted:
    """What the database says one deployment should be."""

    id: str
    name: str
    engine: str
    path: str
    urls: tuple[str, ...]
    max_model_len: int | None
    revision: int
    status: str

    @classmethod
    def of(cls, row: Deployment) -> Wanted:
        return cls(
            row.id,
            row.model_name,
            row.engine,
            row.model_path,
            tuple(row.upstream_urls),
            row.max_model_len,
            row.revision,
            row.status,
        )


@dataclass
class Running:
    """A started deployment."""

    wanted: Wanted
    engine: Engine
    monitor: HealthMonitor | None = None
    status: DeploymentStatus = DeploymentStatus.UP
    down_reasons: dict[str, str] = field(default_factory=dict)


def gguf_problem(path: str) -> str | None:
    """Why `path` cannot be a GGUF model file, or None."""
    file = Path(path)
    if not file.is_file():
        return f"model file not found: {path}"
    try:
        with file.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        return f"cannot read model file {path}: {exc.strerror}"
    return None if magic == GGUF_MAGIC else f"not a GGUF model file: {path}"


def _upstream_pool(engine: Engine) -> ReplicaPool | None:
    """The replicas of an `openai` engine (the embedded engine's server is in process)."""
    if isinstance(engine, OpenAICompatibleEngine) and not isinstance(engine, EmbeddedEngine):
        return engine.replicas
    return None


class ModelRegistry:
    """Owns the deployed engines of one gateway process."""

    def __init__(
        self,
        static: Mapping[str, Engine],
        db: Database | None,
        transport: httpx2.AsyncBaseTransport,
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.static = dict(static)
        self.db = db
        self.transport = transport
        self.poll_seconds = poll_seconds
        self.logbook = Logbook()
        self.metrics = LoggingMetrics(self.logbook)
        self.running: dict[str, Running] = {}
        self._failed: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self._static_monitors: list[HealthMonitor] = []
        self._task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._down_since: dict[str, float] = {}  # failing database work -> since when

    @property
    def engines(self) -> dict[str, Engine]:
        """Every model served now: static ones, then deployed ones."""
        deployed = {run.wanted.name: run.engine for run in self.running.values()}
        return {**deployed, **self.static}

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with the new model set whenever it changes."""
        self._listeners.append(listener)

    async def start(self) -> None:
        """Watch the static upstreams, load the deployments once, then follow the database."""
        for engine in self.static.values():
            pool = _upstream_pool(engine)
            if pool is not None:
                monitor = HealthMonitor(pool, self._static_transition(engine.info.id))
                monitor.start()
                self._static_monitors.append(monitor)
        if self.db is not None:
            await self.poll_once()
            self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.poll_once()
            except Exception as exc:  # the database may be away for a while: keep serving
                self._database_failed(READ, exc)
            else:
                self._database_recovered(READ)

    def _database_failed(self, what: str, exc: Exception) -> None:
        """Warn once per outage (the polls go on every `poll_seconds`)."""
        if what in self._down_since:
            return
        self._down_since[what] = time.monotonic()
        logger.warning(
            "cannot %s: %s; serving the %d model(s) running until the database is back",
            what,
            error_reason(exc),
            len(self.engines),
        )

    def _database_recovered(self, what: str) -> None:
        since = self._down_since.pop(what, None)
        if since is not None:
            logger.info("can %s again after %.1f s", what, time.monotonic() - since)

    def _read(self) -> list[Wanted]:
        assert self.db is not None
        with self.db.session() as session:
            return [Wanted.of(row) for row in deployments.live(session)]

    async def poll_once(self) -> None:
        """Bring the running engines in line with the database, then write the reports."""
        wanted = {w.id: w for w in await asyncio.to_thread(self._read)}
        changed = False
        for deployment_id, run in list(self.running.items()):
            target = wanted.get(deployment_id)
            if target is None or target.revision != run.wanted.revision:
                await self._stop(deployment_id)
                changed = True
        for target in wanted.values():
            if target.id not in self.running and self._failed.get(target.id) != target.revision:
                changed |= await self._start(target)
        self._failed = {k: v for k, v in self._failed.items() if k in wanted}
        for run in self.running.values():
            self._report_health(run)
        if changed:
            self._publish()
        await self._flush()

    def _publish(self) -> None:
        engines = self.engines
        for listener in self._listeners:
            listener(engines)

    async def _start(self, target: Wanted) -> bool:
        log = self.logbook
        problem = self._start_problem(target)
        if problem is None:
            spec = ModelSpec(
                id=target.name,
                engine=target.engine,
                path=target.path or None,
                upstream_urls=target.urls,
                max_model_len=target.max_model_len,
            )
            engine = build_engines([spec], self.transport)[target.name]
            log.write(target.id, f"starting the {target.engine} engine for {target.name}")
            try:
                await engine.start()
            except Exception as exc:
                problem = f"the engine did not start: {str(exc).strip() or type(exc).__name__}"
        if problem is not None:
            self._failed[target.id] = target.revision
            log.status(target.id, DeploymentStatus.DOWN, problem)
            return False
        run = Running(target, engine)
        pool = _upstream_pool(engine)
        if pool is not None:
            run.monitor = HealthMonitor(pool, self._transition(run))
            await run.monitor.check_once()
            run.monitor.start()
        self.running[target.id] = run
        self.metrics.deployment_of[target.name] = target.id
        if run.monitor is not None and run.monitor.all_down():
            run.status = DeploymentStatus.DOWN
            log.status(target.id, DeploymentStatus.DOWN, "no replica passes its health check")
        else:
            replicas = f" with {len(target.urls)} replica(s)" if target.urls else ""
            log.status(target.id, DeploymentStatus.UP, f"serving {target.name}{replicas}")
        return True

    def _start_problem(self, target: Wanted) -> str | None:
        if target.name in self.static:
            return f"the name {target.name!r} is taken by a model configured on this gateway"
        if target.engine == "embedded":
            return gguf_problem(target.path)
        if target.engine == "openai" and not target.urls:
            return "an openai deployment needs at least one upstream URL"
        return None

    def _transition(self, run: Running) -> Callable[[Replica, bool, str], None]:
        def changed(replica: Replica, up: bool, reason: str) -> None:
            state = "back up" if up else "down"
            self.logbook.write(run.wanted.id, f"replica {replica.url} is {state}: {reason}")

        return changed

    def _static_transition(self, model: str) -> Callable[[Replica, bool, str], None]:
        def changed(replica: Replica, up: bool, reason: str) -> None:
            state = "back up" if up else "down"
            logger.warning("model %s: replica %s is %s: %s", model, replica.url, state, reason)

        return changed

    def _report_health(self, run: Running) -> None:
        if run.monitor is None:
            return
        if run.monitor.all_down() and run.status == DeploymentStatus.UP:
            run.status = DeploymentStatus.DOWN
            reasons = "; ".join(r.reason for r in run.monitor.pool.replicas)
            self.logbook.status(run.wanted.id, run.status, f"every replica is down: {reasons}")
        elif not run.monitor.all_down() and run.status == DeploymentStatus.DOWN:
            run.status = DeploymentStatus.UP
            healthy = sum(not r.down for r in run.monitor.pool.replicas)
            self.logbook.status(run.wanted.id, run.status, f"{healthy} replica(s) healthy")

    async def _stop(self, deployment_id: str) -> None:
        run = self.running.pop(deployment_id)
        self.metrics.deployment_of.pop(run.wanted.name, None)
        self.logbook.write(deployment_id, f"stopped serving {run.wanted.name}")
        if run.monitor is not None:
            await run.monitor.aclose()
        retiring = asyncio.create_task(self._retire(run.wanted.name, run.engine))
        self._retiring.add(retiring)
        retiring.add_done_callback(self._retiring.discard)

    async def _retire(self, name: str, engine: Engine) -> None:
        """Close an engine once the requests it still serves are done (or after a grace)."""
        deadline = time.monotonic() + RETIRE_GRACE_SECONDS
        try:
            while self.metrics.in_flight.get(name, 0) > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            await engine.aclose()

    def _write(self, lines: list[LogLine], changes: list[StatusChange]) -> None:
        assert self.db is not None
        ids = {line[0] for line in lines} | {change.deployment_id for change in changes}
        with self.db.session() as session:
            rows = session.scalars(select(Deployment).where(Deployment.id.in_(ids)))
            known = {row.id: row for row in rows}
            deployments.append_logs(session, [line for line in lines if line[0] in known])
            for change in changes:
                row = known.get(change.deployment_id)
                live = row is not None and row.status in deployments.LIVE
                if row is not None and live and row.status != change.status.value:
                    deployments.add_event(session, row, change.status, change.reason, change.at)

    async def _flush(self) -> None:
        lines, changes = self.logbook.drain()
        if not lines and not changes:
            return
        try:
            await asyncio.to_thread(self._write, lines, changes)
        except Exception as exc:
            self._database_failed(WRITE, exc)
            self.logbook.restore(lines, changes)
        else:
            self._database_recovered(WRITE)

    async def aclose(self) -> None:
        """Stop following, write the last reports, stop the deployed engines."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for monitor in self._static_monitors:
            await monitor.aclose()
        for deployment_id in list(self.running):
            await self._stop(deployment_id)
        if self._retiring:  # the server drained its requests already: close at once
            for task in self._retiring:
                task.cancel()
            await asyncio.gather(*self._retiring, return_exceptions=True)
        if self.db is not None:
            await self._flush()
