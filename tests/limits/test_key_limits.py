"""Limits set on a key: stored by `tm server api-keys create`, sent by the SDK, carried by the
key cache to the gateway, shown on the wire."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from tensormesh import Tensormesh, TensormeshError
from tensormesh_cli.main import cli
from tensormesh_server.controlplane.errors import CPError
from tensormesh_server.controlplane.key_verifier import DatabaseKeyVerifier
from tensormesh_server.controlplane.operator import OPERATOR
from tensormesh_server.controlplane.services import api_keys, users
from tensormesh_server.controlplane.wire import api_key_model
from tensormesh_server.limits import KeyLimits
from tensormesh_server.store.database import Database
from tensormesh_server.store.migrate import upgrade
from tensormesh_server.store.models import User
from tests.controlplane.helpers import make_user

EMAIL = "limits@example.com"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'tm.db'}")
    upgrade(database.engine)
    make_user(database, EMAIL, now=datetime.now(timezone.utc))
    return database


async def test_server_cli_stores_limits_that_reach_the_gateway(
    tmp_path: Path, db: Database
) -> None:
    env = {"TENSORMESH_DATABASE_URL": str(db.engine.url), "TM_DATA_HOME": str(tmp_path)}
    args = ["server", "api-keys", "create", "--user", EMAIL, "--rpm", "5", "--tpm", "100"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    verifier = DatabaseKeyVerifier(db)
    caller = await verifier.identify(secret)
    await verifier.aclose()
    assert caller is not None
    assert caller.limits == KeyLimits(requests_per_minute=5, tokens_per_minute=100)
    with db.session() as session:
        (row,) = api_keys.list_keys(session, api_keys_owner(session))
        wire = api_key_model(row).to_wire()
    assert wire["rateLimitRequestsPerMinute"] == 5
    assert wire["rateLimitTokensPerMinute"] == 100


def api_keys_owner(session: Session) -> User:
    owner = users.find_by_email(session, EMAIL)
    assert owner is not None
    return owner


def test_server_cli_rejects_a_zero_limit(tmp_path: Path, db: Database) -> None:
    env = {"TENSORMESH_DATABASE_URL": str(db.engine.url), "TM_DATA_HOME": str(tmp_path)}
    args = ["server", "api-keys", "create", "--user", EMAIL, "--rpm", "0"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2
    assert "--rpm" in result.output


async def test_keys_without_limits_are_unlimited(db: Database) -> None:
    now = datetime.now(timezone.utc)
    with db.session() as session:
        owner = api_keys_owner(session)
        _, secret = api_keys.create_key(session, OPERATOR, owner, now=now)
    verifier = DatabaseKeyVerifier(db)
    caller = await verifier.identify(secret)
    await verifier.aclose()
    assert caller is not None
    assert not caller.limits.limited


def test_the_service_refuses_a_limit_below_one(db: Database) -> None:
    with db.session() as session, pytest.raises(CPError, match="tokens per minute"):
        api_keys.create_key(
            session,
            OPERATOR,
            api_keys_owner(session),
            now=datetime.now(timezone.utc),
            tokens_per_minute=0,
        )


def test_sdk_sends_the_limits_under_their_wire_names() -> None:
    sent: list[dict[str, object]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        key = {"id": "k1", "key": "tm_sk_x", "rateLimitRequestsPerMinute": 5}
        return httpx2.Response(200, json={"apiKey": key})

    client = Tensormesh(
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        control_plane_token="tmcp_test-token",
        control_plane_base_url="http://cp.test",
        max_retries=0,
        env={},
    )
    keys = client.control_plane.users.api_keys
    with client:
        reply = keys.create(requests_per_minute=5, tokens_per_minute=900)
        assert sent == [{"rateLimitRequestsPerMinute": 5, "rateLimitTokensPerMinute": 900}]
        assert reply.api_key.rate_limit_requests_per_minute == 5
        assert reply.api_key.rate_limit_tokens_per_minute is None
        with pytest.raises(TensormeshError, match=r"requests_per_minute|rateLimit"):
            keys.create(requests_per_minute=0)
    assert len(sent) == 1
