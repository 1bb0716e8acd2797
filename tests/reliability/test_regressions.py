"""Regression tests of the bugs the fuzzing found, and the serverless OpenAPI document."""

from __future__ import annotations

import httpx2

from tensormesh_server.controlplane.services.paging import MAX_PAGE, Page
from tensormesh_server.serverless_openapi import OPERATIONS, document
from tensormesh_server.testing.fake_upstream import FakeUpstream


def test_a_page_past_a_64_bit_offset_is_clamped() -> None:
    # Fuzzing: GET ...?page=165902617923287712268288 was a 500 (OFFSET overflow in SQLite).
    page = Page.of(165902617923287712268288, 18468)
    assert page.page == MAX_PAGE
    assert (page.page - 1) * page.size < 2**63


async def test_fake_upstream_detokenizes_any_token_id() -> None:
    # Fuzzing: the fake upstream crashed on a token id past the last code point.
    transport = httpx2.ASGITransport(app=FakeUpstream())
    async with httpx2.AsyncClient(transport=transport, base_url="http://fake") as client:
        reply = await client.post("/detokenize", json={"model": "fake", "tokens": [2**40, 65]})
    assert reply.status_code == 200
    assert reply.json()["prompt"].endswith("A")


def test_the_serverless_document_names_every_secured_route_and_its_reply_model() -> None:
    spec = document("9.9.9")
    assert spec["info"]["version"] == "9.9.9"
    for op in OPERATIONS:
        entry = spec["paths"][op.path][op.method]
        reply = entry["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert reply.rsplit("/", 1)[1] in spec["components"]["schemas"]
        assert (entry.get("security") == []) is (not op.secured)
        assert ("requestBody" in entry) is (op.method == "post")
