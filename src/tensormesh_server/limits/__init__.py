"""Per-key rate limits (Redis across replicas, in-process otherwise) and engine overload gates."""

from __future__ import annotations

from .base import Decision, KeyLimits, RateLimiter, rate_limit_error
from .memory import InMemoryRateLimiter
from .overload import EngineGate, overloaded_error

__all__ = [
    "Decision",
    "EngineGate",
    "InMemoryRateLimiter",
    "KeyLimits",
    "RateLimiter",
    "overloaded_error",
    "rate_limit_error",
]
