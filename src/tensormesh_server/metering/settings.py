"""Metering and billing switches of the gateway, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tensormesh_server.models_config import SettingsError, env_number

from .meter import MAX_PENDING

ENV_FLUSH_SECONDS = "TENSORMESH_METERING_FLUSH_SECONDS"
ENV_BATCH_SIZE = "TENSORMESH_METERING_BATCH_SIZE"
ENV_ENFORCE = "TENSORMESH_BILLING_ENFORCE"
ENV_BALANCE_REFRESH = "TENSORMESH_BALANCE_REFRESH_SECONDS"
ENV_MAX_PENDING = "TENSORMESH_METERING_MAX_PENDING"


@dataclass(frozen=True)
class MeteringSettings:
    """`flush_seconds`: the longest a request record waits in memory (what a crash can lose);
    `batch_size`: records that trigger an early flush; `enforce`: refuse inference with 402
    when the balance is used up; `balance_refresh_seconds`: age of the cached balances;
    `max_pending`: records waiting to be written beyond which new inference requests are
    refused with 503 (the database away for long)."""

    flush_seconds: float = 1.0
    batch_size: int = 500
    enforce: bool = True
    balance_refresh_seconds: float = 1.0
    max_pending: int = MAX_PENDING

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> MeteringSettings:
        """The settings, with the environment's overrides (SettingsError when invalid)."""
        enforce_raw = env.get(ENV_ENFORCE, "").strip().lower()
        if enforce_raw not in ("", "1", "0", "true", "false", "yes", "no", "on", "off"):
            raise SettingsError(f"{ENV_ENFORCE}={enforce_raw!r} must be 1 or 0")
        return cls(
            flush_seconds=env_number(env, ENV_FLUSH_SECONDS, cls.flush_seconds, 0.01, 3600.0),
            batch_size=int(env_number(env, ENV_BATCH_SIZE, cls.batch_size, 1, 100_000)),
            enforce=enforce_raw not in ("0", "false", "no", "off"),
            balance_refresh_seconds=env_number(
                env, ENV_BALANCE_REFRESH, cls.balance_refresh_seconds, 0.05, 60.0
            ),
            max_pending=int(env_number(env, ENV_MAX_PENDING, cls.max_pending, 1, 100_000_000)),
        )
