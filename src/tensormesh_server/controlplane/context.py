"""What every route needs: the database, the settings, the clocks and the rate limiters."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from tensormesh_server.security.rate_limit import (
    AttemptLimiter,
    LocalAttemptLimiter,
    RateLimiter,
)
from tensormesh_server.store.database import Database

from .config import ControlPlaneConfig

if TYPE_CHECKING:
    import redis.asyncio as aioredis

Clock = Callable[[], datetime]
REDIS_PREFIX = "tm:cp:attempts:"


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
    redis_url: str = ""
    """TENSORMESH_REDIS_URL: the sign-in limits are shared by every process through it (and
    survive a restart); empty: each process counts its own."""
    redis_prefix: str = REDIS_PREFIX
    sign_in_limiter: AttemptLimiter = field(init=False)
    exchange_limiter: AttemptLimiter = field(init=False)
    start_limiter: AttemptLimiter = field(init=False)
    _redis: aioredis.Redis | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        if self.redis_url:
            from tensormesh_server.limits.redis_client import redis_client  # only when used

            self._redis = redis_client(self.redis_url)
        config = self.config
        self.sign_in_limiter = self._limiter(
            "sign-in", config.sign_in_failures, config.sign_in_window_seconds
        )
        self.exchange_limiter = self._limiter(
            "exchange", config.exchange_failures, config.exchange_window_seconds
        )
        self.start_limiter = self._limiter(
            "start", config.starts_per_window, config.start_window_seconds
        )

    def _limiter(self, name: str, limit: int, window: float) -> AttemptLimiter:
        local = RateLimiter(limit, window, self.monotonic)
        if self._redis is None:
            return LocalAttemptLimiter(local)
        from tensormesh_server.limits.attempts import RedisAttemptLimiter

        return RedisAttemptLimiter(
            self._redis,
            f"{self.redis_prefix}{name}:",
            local,
            clock=lambda: self.clock().timestamp(),
        )

    async def aclose(self) -> None:
        """Close the Redis connections (if any)."""
        if self._redis is not None:
            await self._redis.aclose()
