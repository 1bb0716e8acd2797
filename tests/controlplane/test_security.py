"""Security primitives: login codes, passwords, credentials, the rate limiter."""

from __future__ import annotations

import re

from tensormesh_server.security import credentials
from tensormesh_server.security.login_codes import (
    ALPHABET,
    new_login_code,
    normalize_login_code,
)
from tensormesh_server.security.passwords import hash_password, verify_password
from tensormesh_server.security.rate_limit import RateLimiter


def test_login_codes_use_an_unambiguous_alphabet() -> None:
    assert len(ALPHABET) == 32
    assert not set("01OI") & set(ALPHABET)
    codes = {new_login_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code) for code in codes)
    assert normalize_login_code(" abcd efgh ") == "ABCD-EFGH"
    assert normalize_login_code("ABCD-EFG") is None
    assert normalize_login_code("ABCD-EFG0") is None


def test_passwords_are_argon2id_and_never_raise() -> None:
    stored = hash_password("a good password")
    assert stored.startswith("$argon2id$")
    assert "a good password" not in stored
    assert verify_password(stored, "a good password")
    assert not verify_password(stored, "a bad password")
    assert not verify_password(None, "anything")
    assert not verify_password("garbage", "anything")
    assert hash_password("a good password") != stored  # salted


def test_credentials_have_prefixes_and_digests() -> None:
    key = credentials.new_api_key()
    assert key.startswith("tm_sk_")
    assert credentials.looks_like_api_key(key)
    assert credentials.new_access_token().startswith("tmcp_")
    assert credentials.looks_like_refresh_token(credentials.new_refresh_token())
    assert len(credentials.digest(key)) == 64
    assert credentials.digest(key) != key
    assert credentials.key_prefix(key) == key[:12]
    assert credentials.same_secret("abc", "abc")
    assert not credentials.same_secret("abc", "abd")


def test_rate_limiter_counts_failures_in_a_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 60.0, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("k") is None
        limiter.fail("k")
    assert limiter.retry_after("k") == 60
    assert limiter.retry_after("other") is None
    now[0] = 30.0
    assert limiter.retry_after("k") == 30
    now[0] = 60.5
    assert limiter.retry_after("k") is None
    limiter.fail("k")
    limiter.reset("k")
    assert limiter.retry_after("k") is None
