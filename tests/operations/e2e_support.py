"""Helpers of the end-to-end tests: fake upstream replicas as processes, a database for a
real server, an admin's access token, waiting."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx2

from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.services import tokens, users
from tensormesh_server.store.database import Database
from tests.support.servers import free_port

REPLICA_CODE = (
    "import sys, uvicorn\n"
    "from tensormesh_server.testing.fake_upstream import FakeUpstream\n"
    "uvicorn.run(FakeUpstream(name=sys.argv[2], chunk_delay=float(sys.argv[3])),"
    " host='127.0.0.1', port=int(sys.argv[1]), log_level='warning', lifespan='off')\n"
)


@dataclass
class Replica:
    """A fake OpenAI-compatible upstream in its own process (answers carry `cmpl-<name>`)."""

    name: str
    port: int
    chunk_delay: float = 0.02
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-c", REPLICA_CODE, str(self.port), self.name]
        self.process = subprocess.Popen([*command, str(self.chunk_delay)])
        wait_for(lambda: _answers(self.url + "/health"), 15.0, f"replica {self.name} start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx2.get(url, timeout=1.0).status_code == 200
    except httpx2.TransportError:
        return False


@contextmanager
def replicas(*names: str) -> Iterator[list[Replica]]:
    """Started replicas, killed at the end."""
    started = [Replica(name, free_port()) for name in names]
    try:
        for replica in started:
            replica.start()
        yield started
    finally:
        for replica in started:
            replica.kill()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `check` every 50 ms; the seconds it took (AssertionError after `timeout`)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if check():
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def admin_headers(url: str) -> dict[str, str]:
    """A fresh access token of the first admin the server created."""
    db = Database(url)
    try:
        with db.session() as session:
            admin = users.find_by_email(session, "admin@localhost")
            assert admin is not None
            issued = tokens.issue(
                session,
                admin,
                now=datetime.now(timezone.utc),
                config=ControlPlaneConfig(),
                family_id=tokens.new_family(),
            )
    finally:
        db.dispose()
    return {"authorization": f"Bearer {issued.access_token}"}


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'server.db'}"
