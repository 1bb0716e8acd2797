"""Turning a finished request into its `UsageRecord` (and completing abandoned streams)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from tensormesh_server.auth import Caller
from tensormesh_server.engines.base import Engine

from .record import UsageRecord
from .tally import UsageTally

ABANDONED = 499
"""The status of a request whose client went away (nginx's convention)."""
MAX_MODEL_NAME = 200
TOKENIZE_SECONDS = 10.0


def usage_record(
    request_id: str,
    caller: Caller,
    model: str,
    endpoint: str,
    status: int,
    tally: UsageTally,
    stream: bool,
) -> UsageRecord:
    """The record of a request that ends now."""
    elapsed = max(0.0, time.perf_counter() - tally.began)
    finished = datetime.now(timezone.utc)
    prompt, completion, cached = tally.counts()
    return UsageRecord(
        request_id=request_id,
        key_id=caller.key_id,
        user_id=caller.user_id,
        model=model[:MAX_MODEL_NAME],
        endpoint=endpoint,
        status_code=status,
        started_at=finished - timedelta(seconds=elapsed),
        finished_at=finished,
        latency_ms=round(elapsed * 1000),
        ttft_ms=tally.ttft_ms(),
        stream=stream,
        abandoned=status == ABANDONED,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
    )


async def abandoned_prompt_tokens(
    engine: Engine, endpoint: str, body: dict[str, Any], record: UsageRecord
) -> UsageRecord:
    """`record` with the prompt's token count from the engine's tokenizer (a stream the client
    abandoned never reaches the engine's final usage). Best effort: 0 when it fails."""
    from tensormesh_server import responses_api

    if endpoint == "responses":
        query: dict[str, Any] = {"messages": responses_api.to_chat(body).get("messages", [])}
    elif endpoint == "chat/completions":
        query = {"messages": body.get("messages", [])}
    else:
        prompt = body.get("prompt", "")
        query = {"prompt": "".join(prompt) if isinstance(prompt, list) else prompt}
    try:
        answer = await asyncio.wait_for(
            engine.tokenize({"model": record.model, **query}, record.request_id),
            TOKENIZE_SECONDS,
        )
        count = answer.get("count")
        if isinstance(count, int) and count > 0:
            record.prompt_tokens = count
    except Exception:  # the engine may be gone or busy: the generated tokens still count
        pass
    return record
