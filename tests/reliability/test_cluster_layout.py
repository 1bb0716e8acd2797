"""The local production layout (`scripts/cluster.sh`): one control plane, two gateways and an
upstream engine over PostgreSQL and Redis start with one command; the README's demo runs against
it unchanged and is metered in the cluster's database; models deployed or removed and keys
deleted on the control plane reach both gateways within 2 seconds; `down` leaves no process
behind."""

from __future__ import annotations

import os
import random
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from tensormesh.types.billing import TransactionType
from tensormesh_server.store.billing_models import BillingTransaction, RequestRecord
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import User
from tensormesh_server.testing.fake_upstream import running_fake_upstream
from tests.billing.e2e import admin_headers, customer

from .figures import count, detail

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"
MODEL = "SmolLM2-135M-Instruct"
POSTGRES_URL = os.environ.get(
    "TENSORMESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PROCESSES = ("engine", "controlplane", "gateway1", "gateway2")
PROPAGATION_LIMIT = 2.0
"""Seconds within which every gateway must see a change made on the control plane."""
SDK_BANNER = "== streamed with the Python SDK (examples/quickstart.py)"
TM_BANNER = "== streamed with tm"

pytestmark = pytest.mark.slow


def _free_port_base() -> int:
    """A port P with P..P+9 all free on 127.0.0.1 (the cluster uses P, P+1, P+2 and P+9)."""
    for _ in range(50):
        base = random.randrange(20000, 60000)
        try:
            for port in range(base, base + 10):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free range of 10 ports")


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


class Cluster:
    """`scripts/cluster.sh` run with its own state directory, database and ports."""

    def __init__(self, directory: Path) -> None:
        url = make_url(POSTGRES_URL).set(drivername="postgresql")
        server = url.render_as_string(hide_password=False).rsplit("/", 1)[0]
        self.db_name = f"tm_cluster_{secrets.token_hex(5)}"
        self.dir = directory / "cluster"
        self.base = _free_port_base()
        self.env = {
            **os.environ,
            "TM_CLUSTER_DIR": str(self.dir),
            "TM_CLUSTER_DB": self.db_name,
            "TM_CLUSTER_POSTGRES": server,
            "TM_CLUSTER_PORT_BASE": str(self.base),
            "TM_DATA_HOME": str(directory / "data"),
        }
        for name in ("TENSORMESH_DATABASE_URL", "TENSORMESH_SERVERLESS_BASE_URL"):
            self.env.pop(name, None)
        self.controlplane_url = f"http://127.0.0.1:{self.base}"
        self.gateways = [f"http://127.0.0.1:{self.base + n}" for n in (1, 2)]
        self.pids: list[int] = []

    def command(self, action: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), action, *extra],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
            cwd=ROOT,
        )

    def exported(self) -> dict[str, str]:
        """The variables of the env file `up` wrote."""
        values: dict[str, str] = {}
        for line in (self.dir / "env").read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = value.strip("'")
        return values

    def database(self) -> Database:
        """The cluster's database (the caller disposes of it)."""
        return Database(self.exported()["TENSORMESH_DATABASE_URL"])

    def running_pids(self) -> list[int]:
        return [
            int((self.dir / f"{name}.pid").read_text())
            for name in PROCESSES
            if (self.dir / f"{name}.pid").exists()
        ]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The cluster, up for the tests of this module (`down --drop` at the end)."""
    admin = Database(POSTGRES_URL)
    try:
        with admin.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        if os.environ.get("TENSORMESH_TEST_POSTGRES_REQUIRED") == "1":
            pytest.fail(f"PostgreSQL unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    finally:
        admin.dispose()
    running = Cluster(tmp_path_factory.mktemp("layout"))
    try:
        started = running.command("up")
        assert started.returncode == 0, started.stderr
        running.pids = running.running_pids()
        yield running
    finally:
        running.command("down", "--drop")


def _chat(gateway: str, key: str, model: str = MODEL) -> httpx2.Response:
    count("requests run")
    return httpx2.post(
        gateway + "/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
        timeout=60,
    )


def _listed(gateway: str) -> list[str]:
    return [model["id"] for model in httpx2.get(gateway + "/v1/models", timeout=10).json()["data"]]


def _seen_by_all(gateways: Sequence[str], check: Callable[[str], bool]) -> dict[str, float]:
    """For each gateway, the seconds from now until `check(gateway)` first held (polled every
    50 ms; gives up after twice the propagation limit)."""
    began = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < len(gateways) and time.monotonic() - began < 2 * PROPAGATION_LIMIT:
        for gateway in gateways:
            if gateway not in seen and check(gateway):
                seen[gateway] = time.monotonic() - began
        time.sleep(0.05)
    return seen


def _within_limit(what: str, seen: dict[str, float], gateways: Sequence[str]) -> None:
    assert set(seen) == set(gateways), f"{what}: only {seen}"
    assert max(seen.values()) <= PROPAGATION_LIMIT, f"{what}: {seen}"
    times = ", ".join(f"{seconds:.2f}" for seconds in seen.values())
    detail(f"cluster: {what} on both gateways after {times} s (limit {PROPAGATION_LIMIT:.0f} s)")


def _segment(output: str, start: str, end: str | None) -> str:
    """The demo's output between the banner `start` and the banner `end` (or the end)."""
    assert start in output, output
    after = output.split(start, 1)[1]
    return after.split(end, 1)[0] if end is not None else after


def _streamed_text(segment: str) -> str:
    """The streamed answer in a segment of the demo's output (without the usage line)."""
    return "".join(line for line in segment.splitlines() if not line.startswith("usage:")).strip()


def test_the_readme_demo_runs_against_the_cluster_unchanged(cluster: Cluster) -> None:
    assert cluster.command("status").returncode == 0
    exported = cluster.exported()
    assert exported["TENSORMESH_SERVERLESS_BASE_URL"] == cluster.gateways[0]
    assert make_url(exported["TENSORMESH_DATABASE_URL"]).database == cluster.db_name
    assert len(cluster.pids) == len(PROCESSES)

    # The README's command, as written there (only the state directory differs).
    began = time.monotonic()
    demo = subprocess.run(
        ["bash", "-c", 'source "$TM_CLUSTER_DIR/env" && scripts/demo.sh'],
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    output = demo.stdout
    assert demo.returncode == 0, output
    assert f"== server up: {cluster.gateways[0]}" in output
    sdk = _segment(output, SDK_BANNER, TM_BANNER)
    streamed = _segment(output, TM_BANNER, None)
    assert _streamed_text(sdk), output
    assert _streamed_text(streamed), output
    assert re.search(r"^usage: prompt=\d+ completion=\d+", sdk, re.M), output
    assert re.search(r"^usage: \d+ prompt \+ \d+ completion", streamed, re.M), output
    count("requests run", 2)

    # Both streams were metered and charged in the cluster's database (flushed within 1 s).
    db = cluster.database()
    try:
        with db.session() as session:
            user = session.execute(
                select(User).where(User.email.like("demo-%@example.com"))
            ).scalar_one()
        deadline = time.monotonic() + 10
        while True:
            with db.session() as session:
                records = session.scalars(
                    select(RequestRecord).where(RequestRecord.user_id == user.id)
                ).all()
                charges = session.scalar(
                    select(func.count())
                    .select_from(BillingTransaction)
                    .where(
                        BillingTransaction.user_id == user.id,
                        BillingTransaction.type == TransactionType.CHARGE.value,
                    )
                )
            if (len(records) >= 2 and charges) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        db.dispose()
    seen = [
        (r.status_code, r.stream, r.abandoned, r.model, r.completion_tokens, r.charge_nanos)
        for r in records
    ]
    assert len(records) == 2, seen
    assert all(record.status_code == 200 and record.stream for record in records), seen
    assert all(record.model == MODEL and record.completion_tokens > 0 for record in records), seen
    assert all(record.charge_nanos > 0 and record.transaction_id for record in records), seen
    assert charges
    detail(f"cluster: README demo ran in {time.monotonic() - began:.1f} s, 2 streams metered")


def test_model_changes_reach_both_gateways_within_2_seconds(cluster: Cluster) -> None:
    db = cluster.database()
    try:
        person = customer(db, "cluster-models@example.com", keys=1, credit="5.00")
        headers = admin_headers(db)
    finally:
        db.dispose()
    key = next(iter(person.keys.values()))
    name = "cluster-deployed"
    with running_fake_upstream() as (upstream, _):
        deployed = httpx2.post(
            cluster.controlplane_url + "/v1/models",
            headers=headers,
            json={"modelName": name, "engine": "openai", "upstreamUrls": [upstream]},
            timeout=10,
        )
        assert deployed.status_code == 200, deployed.text
        model_id = deployed.json()["model"]["modelId"]
        serving = _seen_by_all(
            cluster.gateways,
            lambda gateway: name in _listed(gateway) and _chat(gateway, key, name).is_success,
        )
        _within_limit("a deployed model listed and serving", serving, cluster.gateways)

        removed = httpx2.delete(
            cluster.controlplane_url + f"/v1/models/{model_id}", headers=headers, timeout=10
        )
        assert removed.status_code == 200, removed.text
        gone = _seen_by_all(
            cluster.gateways,
            lambda gateway: (
                name not in _listed(gateway) and _chat(gateway, key, name).status_code == 404
            ),
        )
        _within_limit("a removed model gone (404)", gone, cluster.gateways)
    for gateway in cluster.gateways:
        assert _listed(gateway) == [MODEL]


def test_a_deleted_key_is_refused_by_both_gateways_within_2_seconds(cluster: Cluster) -> None:
    db = cluster.database()
    try:
        person = customer(db, "cluster-keys@example.com", keys=1, credit="5.00")
        headers = admin_headers(db, person.email)  # the user's own access token
    finally:
        db.dispose()
    key = next(iter(person.keys.values()))
    for gateway in cluster.gateways:
        answer = _chat(gateway, key)
        assert answer.status_code == 200, answer.text
        assert answer.json()["usage"]["completion_tokens"] > 0

    deleted = httpx2.request(
        "DELETE",
        cluster.controlplane_url + "/v1/users/api-keys",
        params={"apiKey": key},
        headers=headers,
        timeout=10,
    )
    assert deleted.status_code == 200, deleted.text
    refused = _seen_by_all(cluster.gateways, lambda gateway: _chat(gateway, key).status_code == 401)
    _within_limit("a deleted key refused (401)", refused, cluster.gateways)


def test_down_stops_every_process(cluster: Cluster) -> None:
    assert cluster.pids
    assert all(_alive(pid) for pid in cluster.pids)
    stopped = cluster.command("down")
    assert stopped.returncode == 0, stopped.stderr
    assert cluster.command("status").returncode != 0
    assert [pid for pid in cluster.pids if _alive(pid)] == []
    for gateway in [cluster.controlplane_url, *cluster.gateways]:
        with pytest.raises(httpx2.TransportError):
            httpx2.get(gateway + "/version", timeout=2)
