"""Passwords hashed with argon2id (memory-hard); verification never raises."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters


class WeakPasswordError(ValueError):
    """The password does not meet the minimum requirements."""


def check_password_strength(password: str) -> None:
    """Raise WeakPasswordError for a password that is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string with its salt and parameters)."""
    check_password_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash`; False for a missing or malformed hash."""
    if not password_hash:
        # Spend comparable time so that a missing account is not visible by timing.
        _hasher.hash(password or "-")
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
