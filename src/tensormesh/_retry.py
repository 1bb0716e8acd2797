"""The retry policy of API.md §3 as pure functions, shared by the sync and async transports."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "RETRYABLE_METHODS",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "backoff_delay",
    "parse_retry_after",
]

RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (seconds or HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        if now is None:
            from datetime import datetime, timezone

            now = datetime.now(timezone.utc)
        seconds = (when - now).total_seconds()
    if seconds != seconds or seconds == float("inf"):  # NaN or infinity
        return None
    return max(0.0, seconds)


def backoff_delay(
    retries_done: int,
    *,
    initial: float,
    maximum: float,
    jitter: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Exponential backoff: initial * 2**retries_done, capped at maximum, minus up to `jitter`."""
    base = min(maximum, initial * (2.0**retries_done))
    return base * (1.0 - jitter * rand())


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before retrying a request."""

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def can_retry(self, method: str, retries_done: int) -> bool:
        """Only idempotent methods are retried, and at most `max_retries` times."""
        return method.upper() in RETRYABLE_METHODS and retries_done < self.max_retries

    def delay_after_status(
        self,
        method: str,
        retries_done: int,
        status_code: int,
        headers: Mapping[str, str],
    ) -> float | None:
        """Seconds to wait before retrying after this response, or None to not retry."""
        if status_code not in RETRYABLE_STATUSES or not self.can_retry(method, retries_done):
            return None
        retry_after = parse_retry_after(headers.get("retry-after"))
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(retries_done)

    def delay_after_error(self, method: str, retries_done: int, retryable: bool) -> float | None:
        """Seconds to wait before retrying after a connection error/timeout, or None."""
        if not retryable or not self.can_retry(method, retries_done):
            return None
        return self.backoff(retries_done)

    def backoff(self, retries_done: int) -> float:
        return backoff_delay(
            retries_done, initial=self.initial_backoff, maximum=self.max_backoff, jitter=self.jitter
        )
