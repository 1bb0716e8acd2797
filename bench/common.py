"""What every benchmark shares: the result row, statistics, and child processes."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median as median  # re-exported for the benchmarks
from typing import NamedTuple

import httpx2

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
API_KEY = "tm_sk_bench-key"
CHAT_BODY = {"model": "fake", "messages": [{"role": "user", "content": "Say hello."}]}


@dataclass
class Row:
    """One line of the table: measured values, the ratio, the target and whether it is met."""

    name: str
    measured: str
    ratio: float | None
    target: str
    passed: bool | None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "-" if self.passed is None else ("PASS" if self.passed else "MISS")


def time_ratio(rates: Sequence[float], reference: Sequence[float]) -> float:
    """Median over rounds of (time per unit) / (the reference's time per unit)."""
    return median([ref / rate for rate, ref in zip(rates, reference, strict=True)])


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


Block = Callable[[], tuple[int, float]]
"""One block of work: returns (units done, seconds taken)."""


def interleave(
    rounds: int, blocks: int, measures: dict[str, Block], say: Callable[[str], None]
) -> dict[str, list[float]]:
    """Rates (units/s) per round of every measure, measured side by side.

    A round runs `blocks` blocks of each measure, rotating their order block by block, so that
    every measure sees the same share of the machine's noise; its rate is the round's units
    over the round's seconds.
    """
    names = list(measures)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for turn in range(rounds):
        units = dict.fromkeys(names, 0)
        seconds = dict.fromkeys(names, 0.0)
        for block in range(blocks):
            shift = (turn * blocks + block) % len(names)
            for name in names[shift:] + names[:shift]:
                done, took = measures[name]()
                units[name] += done
                seconds[name] += took
        for name in names:
            samples[name].append(units[name] / seconds[name])
        say(
            f"  round {turn + 1}/{rounds}: "
            + ", ".join(f"{name} {samples[name][-1]:,.0f}/s" for name in names)
        )
    return samples


class Started(NamedTuple):
    """A server process started by the bench."""

    url: str
    pid: int
    process: subprocess.Popen[bytes] | None = None


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` (Linux /proc), 0.0 elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of child processes: the repo on the path, no proxies."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    """Poll `url` until it answers below 500; fail early if the process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, process.args))} exited ({process.returncode})")
        with contextlib.suppress(httpx2.TransportError):
            if httpx2.get(url, timeout=1, trust_env=False).status_code < 500:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up within {seconds:.0f} s")


@contextlib.contextmanager
def child(
    command: Sequence[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    seconds: float = 60.0,
    *,
    wait: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command`, wait until `ready_url` answers, stop it (SIGTERM, then SIGKILL) at exit.
    With `wait` false the caller waits (`wait_until_up`), e.g. to start several at once; its
    RuntimeError prints the process's log too."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            list(command), cwd=ROOT, env=env or bench_env(), stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            if wait:
                wait_until_up(ready_url, process, seconds)
            yield process
        except RuntimeError:
            process.kill()
            process.wait()
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-2000:])
            raise
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.contextmanager
def responder_process(delay: float = 0.0) -> Iterator[Started]:
    """The bench responder answering chat completions after `delay` s, in its own process;
    yields its base URL and pid."""
    port = free_port()
    command = [PYTHON, "-m", "bench.responder", "--port", str(port), "--delay", str(delay)]
    with child(command, f"http://127.0.0.1:{port}/health") as process:
        yield Started(f"http://127.0.0.1:{port}", process.pid)


@contextlib.contextmanager
def responder() -> Iterator[str]:
    """The fast bench responder in its own process; yields its base URL."""
    with responder_process() as started:
        yield started.url


SERVICE_ENV = ("TENSORMESH_DATABASE_URL", "TENSORMESH_REDIS_URL")
"""Settings a `tm server up` of the bench gets only when the bench passes them (never the
caller's: the bench must not write into a database of theirs)."""


@contextlib.contextmanager
def tm_server(
    args: Sequence[str],
    seconds: float = 120.0,
    env: Mapping[str, str] | None = None,
    *,
    wait: bool = True,
) -> Iterator[Started]:
    """`tm server up ARGS` in its own process (its own data directory: a SQLite database unless
    `env` names another; static key API_KEY); yields its serverless base URL, pid and process
    (with `wait` false, before it answers: see `ready`)."""
    port, control = free_port(), free_port()
    command = [
        str(BIN / "tm"),
        *("server", "up", "--host", "127.0.0.1"),
        *("--serverless-port", str(port), "--controlplane-port", str(control)),
        *args,
    ]
    with tempfile.TemporaryDirectory(prefix="tm-bench-") as home:
        variables = bench_env(TENSORMESH_SERVER_API_KEYS=API_KEY, TM_DATA_HOME=home)
        for name in SERVICE_ENV:
            variables.pop(name, None)
        variables.update(env or {})
        ready_url = f"http://127.0.0.1:{port}/version"
        with child(command, ready_url, variables, seconds, wait=wait) as process:
            yield Started(f"http://127.0.0.1:{port}", process.pid, process)


def ready(servers: Sequence[Started], seconds: float = 120.0) -> None:
    """Wait until every `tm_server(..., wait=False)` of `servers` answers."""
    for server in servers:
        assert server.process is not None
        wait_until_up(server.url + "/version", server.process, seconds)


def rss_bytes(pid: int) -> int:
    """Resident memory (VmRSS of /proc/PID/status) of process `pid`, in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


POSTGRES_URL = os.environ.get(
    "TENSORMESH_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
"""A database on the PostgreSQL server the bench creates its throwaway databases on."""
REDIS_URL = os.environ.get("TENSORMESH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The Redis the bench's gateway replicas share."""


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new empty database on POSTGRES_URL's server, dropped at exit; yields its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tm_bench_{secrets.token_hex(5)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
