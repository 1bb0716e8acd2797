"""The local production layout (`scripts/cluster.sh`): one control plane, two gateways and an
upstream engine over PostgreSQL start with one command; the demo's steps work through either
gateway; a key deleted on the control plane is refused by both gateways within 2 seconds; `down`
leaves no process behind."""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from tensormesh_server.controlplane.config import ControlPlaneConfig
from tensormesh_server.controlplane.services import tokens
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import User

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"
TM = str(Path(sys.executable).with_name("tm"))
MODEL = "SmolLM2-135M-Instruct"
POSTGRES_URL = os.environ.get(
    "TENSORMESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PROCESSES = ("engine", "controlplane", "gateway1", "gateway2")

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


def _run(
    args: list[str], env: Mapping[str, str], stdin: str = "", timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, env=dict(env), input=stdin, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


class Cluster:
    """`scripts/cluster.sh` run with its own state directory, database and ports."""

    def __init__(self, tmp_path: Path) -> None:
        url = make_url(POSTGRES_URL).set(drivername="postgresql")
        server = url.render_as_string(hide_password=False).rsplit("/", 1)[0]
        self.db_name = f"tm_cluster_{secrets.token_hex(5)}"
        self.dir = tmp_path / "cluster"
        self.base = _free_port_base()
        self.env = {
            **os.environ,
            "TM_CLUSTER_DIR": str(self.dir),
            "TM_CLUSTER_DB": self.db_name,
            "TM_CLUSTER_POSTGRES": server,
            "TM_CLUSTER_PORT_BASE": str(self.base),
            "TM_DATA_HOME": str(tmp_path / "data"),
        }
        for name in ("TENSORMESH_DATABASE_URL", "TENSORMESH_SERVERLESS_BASE_URL"):
            self.env.pop(name, None)
        self.controlplane_url = f"http://127.0.0.1:{self.base}"
        self.gateways = [f"http://127.0.0.1:{self.base + n}" for n in (1, 2)]

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

    def pids(self) -> list[int]:
        return [
            int((self.dir / f"{name}.pid").read_text())
            for name in PROCESSES
            if (self.dir / f"{name}.pid").exists()
        ]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
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
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        running.command("down", "--drop")


def _chat(gateway: str, key: str) -> httpx2.Response:
    return httpx2.post(
        gateway + "/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
        timeout=60,
    )


def _user_token(database_url: str, email: str) -> str:
    """A control-plane access token for `email`, issued straight in the database."""
    db = Database(database_url)
    try:
        with db.session() as session:
            user = session.execute(select(User).where(User.email == email)).scalar_one()
            issued = tokens.issue(
                session,
                user,
                now=datetime.now(timezone.utc),
                config=ControlPlaneConfig(),
                family_id=tokens.new_family(),
            )
        return issued.access_token
    finally:
        db.dispose()


def test_cluster_up_serves_the_demo_on_both_gateways_and_down_stops_everything(
    cluster: Cluster,
) -> None:
    started = cluster.command("up")
    assert started.returncode == 0, started.stderr
    assert cluster.command("status").returncode == 0
    exported = cluster.exported()
    assert exported["TENSORMESH_SERVERLESS_BASE_URL"] == cluster.gateways[0]
    database_url = exported["TENSORMESH_DATABASE_URL"]
    assert make_url(database_url).database == cluster.db_name
    pids = cluster.pids()
    assert len(pids) == len(PROCESSES)

    # The demo's steps: operator commands on the cluster's database, then inference.
    env = {**cluster.env, **exported}
    email = "cluster-demo@example.com"
    _run([TM, "server", "users", "create", email, "--password-stdin"], env, "pw-cluster-1\n")
    key = _run([TM, "server", "api-keys", "create", "--user", email], env).stdout.strip()
    _run([TM, "server", "billing", "credit", email, "5.00"], env)
    for gateway in cluster.gateways:
        models = httpx2.get(gateway + "/v1/models", timeout=10).json()
        assert [model["id"] for model in models["data"]] == [MODEL]
        answer = _chat(gateway, key)
        assert answer.status_code == 200, answer.text
        assert answer.json()["usage"]["completion_tokens"] > 0
    quickstart = _run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        {
            **env,
            "TENSORMESH_SERVERLESS_BASE_URL": cluster.gateways[1],
            "TENSORMESH_INFERENCE_API_KEY": key,
        },
    )
    assert quickstart.stdout.strip()
    assert "usage: prompt=" in quickstart.stderr

    # A key deleted on the control plane is refused by every gateway within 2 seconds.
    deleted = httpx2.request(
        "DELETE",
        cluster.controlplane_url + "/v1/users/api-keys",
        params={"apiKey": key},
        headers={"authorization": f"Bearer {_user_token(database_url, email)}"},
        timeout=10,
    )
    assert deleted.status_code == 200, deleted.text
    deleted_at = time.monotonic()
    refused: dict[str, float] = {}
    while len(refused) < len(cluster.gateways) and time.monotonic() - deleted_at < 5:
        for gateway in cluster.gateways:
            if gateway not in refused and _chat(gateway, key).status_code == 401:
                refused[gateway] = time.monotonic() - deleted_at
        time.sleep(0.05)
    assert set(refused) == set(cluster.gateways), refused
    assert max(refused.values()) <= 2.0, refused

    stopped = cluster.command("down")
    assert stopped.returncode == 0, stopped.stderr
    assert cluster.command("status").returncode != 0
    assert [pid for pid in pids if _alive(pid)] == []
    for gateway in cluster.gateways:
        with pytest.raises(httpx2.TransportError):
            httpx2.get(gateway + "/version", timeout=2)
