"""What every route needs: the database, the settings, the clocks and the rate limiters."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tensormesh_server.security.rate_limit import RateLimiter
from tensormesh_server.store.database import Database

from .config import ControlPlaneConfig

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


@dataclass
class ControlPlaneContext:
    """Shared state of one Control Plane app."""

    db: Database
    config: ControlPlaneConfig = field(default_factory=ControlPlaneConfig)
    clock: Clock = utc_now
    monotonic: Callable[[], float] = time.monotonic
    static_models: tuple[str, ...] = ()  # models served from flags / models file
    sign_in_limiter: RateLimiter = field(init=False)
    exchange_limiter: RateLimiter = field(init=False)
    start_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        config = self.config
        self.sign_in_limiter = RateLimiter(
            config.sign_in_failures, config.sign_in_window_seconds, self.monotonic
        )
        self.exchange_limiter = RateLimiter(
            config.exchange_failures, config.exchange_window_seconds, self.monotonic
        )
        self.start_limiter = RateLimiter(
            config.starts_per_window, config.start_window_seconds, self.monotonic
        )
