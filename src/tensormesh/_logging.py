"""The "tensormesh" logger (TENSORMESH_LOG=debug) and redaction of secrets in log lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["configure_logging", "logger", "redact_headers", "redact_url"]

logger = logging.getLogger("tensormesh")

_SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
_SENSITIVE_QUERY = re.compile(r"((?:api[_-]?key|token|key|secret|password)=)[^&#]*", re.I)
REDACTED = "<redacted>"


def configure_logging(level: str | None) -> None:
    """Send the SDK's log records to stderr at `level` (once), when a level is configured."""
    if level is None:
        return
    logger.setLevel(level.upper())
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("[tensormesh %(levelname)s] %(message)s"))
        logger.addHandler(handler)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler added by `configure_logging` (so it is added only once)."""


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with credentials replaced by a marker."""
    return {
        name: (REDACTED if name.lower() in _SENSITIVE_HEADERS else value) for name, value in headers
    }


def redact_url(url: str) -> str:
    """A URL with the values of secret-looking query parameters replaced by a marker."""
    return _SENSITIVE_QUERY.sub(lambda m: m.group(1) + REDACTED, url)
