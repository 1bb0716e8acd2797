"""What the gateway remembers about one inference request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tensormesh_server.store.models import new_id


@dataclass(slots=True)
class UsageRecord:
    """One metered request. `prompt_tokens` includes `cached_tokens`; `user_id` is None for
    the operator's static keys (metered, never charged); `id` makes a re-written batch
    harmless."""

    request_id: str
    key_id: str
    user_id: str | None
    model: str
    endpoint: str
    status_code: int
    started_at: datetime
    finished_at: datetime
    latency_ms: int
    ttft_ms: int | None = None
    stream: bool = False
    abandoned: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    id: str = field(default_factory=new_id)

    @property
    def has_tokens(self) -> bool:
        """True when the request used any tokens (and so may cost something)."""
        return bool(self.prompt_tokens or self.completion_tokens)
