"""The short code the terminal and the sign-in page both show: `ABCD-EFGH`.

Eight characters from a 32-letter alphabet without look-alikes (no 0/O, no 1/I): 40 random
bits. Brute force is stopped by the 10-minute expiry and the exchange rate limit.
"""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def new_login_code() -> str:
    """A fresh code written `ABCD-EFGH`."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_login_code(text: str) -> str | None:
    """The canonical `ABCD-EFGH` form of what a user typed, or None when it cannot be a code."""
    raw = "".join(ch for ch in text.upper() if ch not in "- \t")
    if len(raw) != CODE_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return f"{raw[:4]}-{raw[4:]}"
