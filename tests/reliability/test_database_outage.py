"""The database briefly unavailable: a real `tm server up --role all` reaches PostgreSQL through
a TCP proxy (tests/support/tcp_proxy.py) that cuts it off for a few seconds while clients keep
sending inference requests (streamed and not).

During the outage every request with a key verified before it succeeds, a key never seen gets
a clean 503 `key_store_unavailable` with Retry-After, a key known to be invalid stays refused,
the models stay listed and the Control Plane answers 503 JSON with Retry-After (no traceback
anywhere). The request records wait in memory; once the database is back they are all written
within seconds, exactly once each, even though the answer to the first catch-up COMMIT is lost
on the way (committed, but the gateway never learns it): every request made before, during
and after the outage has one record with the usage the client saw, and the ledger reconciles.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tensormesh.types.billing import ServerlessPricing
from tensormesh.types.operations import DeployRequest
from tensormesh_server.controlplane import operator
from tensormesh_server.controlplane.context import utc_now
from tensormesh_server.controlplane.services import api_keys, deployments
from tensormesh_server.controlplane.services.activities import OPERATOR
from tensormesh_server.store.billing_models import RequestRecord
from tensormesh_server.store.database import Database
from tensormesh_server.store.models import User
from tests.billing import e2e
from tests.billing.e2e import FAKE_MODEL, KINDS, Customer, Seen, Target
from tests.controlplane.helpers import bearer
from tests.support.postgres import Postgres
from tests.support.servers import RunningServer, running_server
from tests.support.tcp_proxy import TcpProxy

from .figures import SCALE, count, detail

pytestmark = pytest.mark.slow

CLIENTS = 4
BEFORE_SECONDS = 1.0
OUTAGE_SECONDS = 4.0 * SCALE
AFTER_SECONDS = 1.5  # > the key cache's ttl: a request probes the database again
CATCH_UP_SECONDS = 10.0
FLUSH_SECONDS = 0.25
REQUEST_KINDS = [kind for kind in KINDS if kind != "abandon"]  # disconnects: tested elsewhere
COMMIT_MARKER = b"INSERT INTO request_records"
DEPLOYED_MODEL = "deployed"
"""A model deployed through the Control Plane (followed by the gateway's registry)."""
MODELS = (FAKE_MODEL, DEPLOYED_MODEL)


@dataclass
class Load:
    """What the clients did: each request, and when it started (monotonic)."""

    seen: list[Seen] = field(default_factory=list)
    started: dict[str, float] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def within(self, start: float, end: float) -> list[Seen]:
        """The requests that started and ended between `start` and `end`."""
        return [s for s in self.seen if start <= self.started[s.request_id] and s.finished <= end]

    def ended_before(self, moment: float) -> list[Seen]:
        """The requests answered before `moment`."""
        return [s for s in self.seen if s.finished < moment]


async def one_request(
    http: httpx2.AsyncClient,
    url: str,
    load: Load,
    person: Customer,
    key_id: str,
    kind: str,
    model: str = FAKE_MODEL,
) -> Seen:
    seen = Seen(f"outage-{len(load.seen)}", person.id, key_id, model, kind)
    load.seen.append(seen)
    load.started[seen.request_id] = time.monotonic()
    await e2e.send(http, Target(url), seen, person.keys[key_id])
    return seen


async def client(worker: int, url: str, people: list[Customer], load: Load) -> None:
    """Requests one after the other (random kind and key) until `load.stop`."""
    chooser = random.Random(worker)
    async with httpx2.AsyncClient(timeout=30) as http:
        while not load.stop.is_set():
            person = chooser.choice(people)
            key_id = chooser.choice(sorted(person.keys))
            kind, model = chooser.choice(REQUEST_KINDS), chooser.choice(MODELS)
            seen = await one_request(http, url, load, person, key_id, kind, model)
            assert seen.status == 200, seen


def revoked_key(db: Database, person: Customer) -> str:
    """A key of `person` that was deleted."""
    row, secret = operator.create_api_key(db, person.email, name="revoked")
    with db.session() as session:
        owner = session.get(User, person.id)
        assert owner is not None
        api_keys.delete_key(session, OPERATOR, owner, row.id, now=utc_now())
    return secret


async def deploy(db: Database, server: RunningServer, upstream: str) -> None:
    """Deploy DEPLOYED_MODEL on `upstream` as the first admin; wait until the gateway serves it."""
    with db.session() as session:
        admin = session.scalars(select(User).where(User.email == "admin@localhost")).one()
        request = DeployRequest(
            model_name=DEPLOYED_MODEL, engine="openai", upstream_urls=[upstream]
        )
        deployments.deploy(session, admin, request, None, utc_now())
    async with httpx2.AsyncClient(timeout=10) as http:
        deadline = time.monotonic() + 10
        while sorted(await served_models(http, server)) != sorted(MODELS):
            assert time.monotonic() < deadline, "the deployed model was not served"
            await asyncio.sleep(0.1)


async def served_models(http: httpx2.AsyncClient, server: RunningServer) -> list[str]:
    models = await http.get(server.serverless_url + "/v1/models")
    assert models.status_code == 200, models.text
    return [str(m["id"]) for m in models.json()["data"]]


OUTAGE_LINES = (
    ("API key lookups fail", "API key lookups work again"),
    ("balance lookups fail", "balance lookups work again"),
    ("cannot read the deployed models", "can read the deployed models again"),
)
"""What the gateway logs when it loses the database, and when it has it back."""


async def outage_log(server: RunningServer) -> str:
    """The server's log once each component has logged the end of the outage (or after 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        log = server.log()
        if all(back in log for _, back in OUTAGE_LINES) or time.monotonic() > deadline:
            return log
        await asyncio.sleep(0.1)


def record_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(RequestRecord)) or 0)


async def probe_during_outage(
    server: RunningServer, refused_key: str, admin: dict[str, str]
) -> None:
    """What the other callers get while the database is away."""
    async with httpx2.AsyncClient(timeout=10) as http:
        body = {"model": FAKE_MODEL, "messages": [{"role": "user", "content": "hi"}]}
        url = server.serverless_url + "/v1/chat/completions"
        unknown = await http.post(url, json=body, headers=bearer("tm_sk_never-seen"))
        assert unknown.status_code == 503, unknown.text
        assert unknown.headers["retry-after"] == "1"
        assert unknown.json()["error"]["code"] == "key_store_unavailable"
        refused = await http.post(url, json=body, headers=bearer(refused_key))
        assert refused.status_code == 401, refused.text
        assert sorted(await served_models(http, server)) == sorted(MODELS)
        cp = await http.get(server.controlplane_url + "/v1/users/me", headers=admin)
        assert cp.status_code == 503, cp.text
        assert cp.headers["retry-after"] == "1"
        assert cp.json()["code"] == 14  # UNAVAILABLE


async def test_inference_survives_a_database_outage_and_metering_catches_up(
    postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.create()
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(e2e.fake_upstream(chunk_delay=0.01))
        proxy = stack.enter_context(TcpProxy(make_url(url).port or 5432))
        env = {
            "TENSORMESH_DATABASE_URL": proxy.url_for(url),
            "TENSORMESH_METERING_FLUSH_SECONDS": str(FLUSH_SECONDS),
        }
        args = ["--role", "all", "--no-embedded", "--upstream", f"{FAKE_MODEL}={upstream}"]
        server = stack.enter_context(running_server(tmp_path, args=args, env=env))
        db = Database(url)  # the test's own view, not through the proxy
        stack.callback(db.dispose)
        people = [
            e2e.customer(db, "ada@example.com", keys=2, credit="100"),
            e2e.customer(db, "bo@example.com", keys=1, credit="20"),
        ]
        admin = e2e.admin_headers(db)
        await deploy(db, server, upstream)
        prices = {
            model: ServerlessPricing.model_validate(
                e2e.price_model(
                    server.controlplane_url,
                    admin,
                    model,
                    inputTokenPrice="0.15",
                    outputTokenPrice="0.6",
                    cachedTokenPrice="0.075",
                )
            )
            for model in MODELS
        }
        load = Load()
        async with httpx2.AsyncClient(timeout=30) as http:
            for person in people:  # warm every key (and balance) before the outage
                for key_id in person.keys:
                    warm = await one_request(
                        http, server.serverless_url, load, person, key_id, "chat"
                    )
                    assert warm.status == 200
            refused_key = revoked_key(db, people[0])
            refused = await http.post(
                server.serverless_url + "/v1/chat/completions",
                json={"model": FAKE_MODEL, "messages": [{"role": "user", "content": "hi"}]},
                headers=bearer(refused_key),
            )
            assert refused.status_code == 401  # now known to be invalid
        clients = [
            asyncio.ensure_future(client(n, server.serverless_url, people, load))
            for n in range(CLIENTS)
        ]
        await asyncio.sleep(BEFORE_SECONDS)
        await asyncio.to_thread(proxy.pause)
        began = time.monotonic()
        await asyncio.sleep(0.5)
        await probe_during_outage(server, refused_key, admin)
        # The answer to the first COMMIT of the catch-up will be lost (the batch is committed).
        await asyncio.to_thread(proxy.lose_commit_reply, COMMIT_MARKER)
        await asyncio.sleep(max(0.0, began + OUTAGE_SECONDS - time.monotonic()))
        written_before = await asyncio.to_thread(record_count, db)  # nothing moves now
        ended = time.monotonic()
        await asyncio.to_thread(proxy.resume)
        await asyncio.sleep(AFTER_SECONDS)
        load.stop.set()
        await asyncio.gather(*clients)

        deadline = time.monotonic() + CATCH_UP_SECONDS
        while await asyncio.to_thread(record_count, db) < len(load.seen):
            assert time.monotonic() < deadline, "the records did not catch up"
            await asyncio.sleep(0.1)
        caught_up = time.monotonic() - ended
        assert proxy.commits_lost == 1
        records = e2e.check_records(db, load.seen, people)
        e2e.check_money(db, people, prices)
        log = await outage_log(server)

    during = load.within(began, ended)
    backlog = len(load.ended_before(ended)) - written_before
    assert records["records"] == records["answered"] == len(load.seen)
    assert len(during) >= CLIENTS, "the clients were not served during the outage"
    assert backlog >= len(during)
    assert "Traceback" not in log
    for warning, back in OUTAGE_LINES:  # one warning per outage, not one per request or poll
        assert log.count(warning) == 1, warning
        assert log.count(back) == 1, back
    assert Counter(s.kind for s in during).keys() >= {"chat", "chat-stream"}
    assert {s.model for s in during} == set(MODELS)  # static and deployed models alike
    count("requests run", len(load.seen) + 3)  # + the probes of the outage
    count("faults injected", 2)  # the outage and the lost COMMIT answer
    count("records reconciled", records["records"])
    detail(
        f"database outage: {ended - began:.1f} s, {len(during)} requests served during it, "
        f"{backlog} records written after it (all {records['records']} within "
        f"{caught_up:.1f} s of its end, one COMMIT answer lost and not written twice)"
    )
