"""Settings of the limits: the Redis URL and the engines' overload bounds (environment only)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tensormesh_server.models_config import SettingsError

from .base import RateLimiter
from .memory import InMemoryRateLimiter
from .overload import EngineGate

ENV_REDIS_URL = "TENSORMESH_REDIS_URL"
ENV_MAX_IN_FLIGHT = "TENSORMESH_ENGINE_MAX_IN_FLIGHT"
ENV_MAX_QUEUE = "TENSORMESH_ENGINE_MAX_QUEUE"

EMBEDDED_IN_FLIGHT_PER_SLOT = 2
OPENAI_MAX_IN_FLIGHT = 64
DEFAULT_MAX_QUEUE = 256


def _count(env: Mapping[str, str], name: str, minimum: int) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < minimum:
        raise SettingsError(f"{name}={raw!r} must be a whole number >= {minimum}")
    return int(raw)


@dataclass(frozen=True)
class LimitSettings:
    """Where the rate-limit windows live and how much each engine may take at once."""

    redis_url: str = ""
    max_in_flight: int | None = None
    """None: the engine kind's default (embedded: 2 per slot; openai: 64)."""
    max_queue: int | None = None
    """None: 256."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> LimitSettings:
        """Read TENSORMESH_REDIS_URL, TENSORMESH_ENGINE_MAX_IN_FLIGHT, _MAX_QUEUE."""
        return cls(
            redis_url=env.get(ENV_REDIS_URL, "").strip(),
            max_in_flight=_count(env, ENV_MAX_IN_FLIGHT, 1),
            max_queue=_count(env, ENV_MAX_QUEUE, 0),
        )

    def limiter(self) -> RateLimiter:
        """The Redis limiter when a URL is set (shared by replicas), else the in-process one."""
        if self.redis_url:
            from .redis_limiter import RedisRateLimiter  # redis is imported only when used

            return RedisRateLimiter(self.redis_url)
        return InMemoryRateLimiter()

    def gate(self, embedded_slots: int | None) -> EngineGate:
        """A gate for one engine (`embedded_slots`: the embedded engine's parallel slots)."""
        default = (
            OPENAI_MAX_IN_FLIGHT
            if embedded_slots is None
            else embedded_slots * EMBEDDED_IN_FLIGHT_PER_SLOT
        )
        in_flight = self.max_in_flight if self.max_in_flight is not None else default
        queue = self.max_queue if self.max_queue is not None else DEFAULT_MAX_QUEUE
        return EngineGate(in_flight, queue)
