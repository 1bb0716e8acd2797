"""Start real servers (`tm server up` in a subprocess) on free loopback ports for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    serverless_url: str
    controlplane_url: str
    api_key: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def _wait_ready(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
        try:
            if httpx2.get(server.serverless_url + "/version", timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server not ready after {timeout}s:\n{server.log()}")


@contextmanager
def running_server(
    tmp_path: Path,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    api_key: str = "tm-test-key-0123456789",
    ready_timeout: float = 60.0,
) -> Iterator[RunningServer]:
    """Run `tm server up` with its serverless surface on a free port until the block ends."""
    serverless_port, controlplane_port = free_port(), free_port()
    log_path = tmp_path / f"server-{serverless_port}.log"
    full_env = {
        **os.environ,
        "TM_DATA_HOME": str(tmp_path / "data"),
        "TENSORMESH_SERVER_API_KEYS": api_key,
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "tensormesh_cli",
        "server",
        "up",
        "--host",
        "127.0.0.1",
        "--serverless-port",
        str(serverless_port),
        "--controlplane-port",
        str(controlplane_port),
        *args,
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=full_env)
    server = RunningServer(
        process=process,
        serverless_url=f"http://127.0.0.1:{serverless_port}",
        controlplane_url=f"http://127.0.0.1:{controlplane_port}",
        api_key=api_key,
        log_path=log_path,
    )
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        server.stop()
