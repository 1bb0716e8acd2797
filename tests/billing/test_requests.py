"""A finished request's record, and the prompt tokens of an abandoned stream (from the
engine's tokenizer, best effort)."""

from __future__ import annotations

from typing import Any, cast

from tensormesh_server.auth import Caller
from tensormesh_server.engines.base import Engine
from tensormesh_server.metering.requests import abandoned_prompt_tokens, usage_record
from tensormesh_server.metering.tally import UsageTally


class Tokenizer:
    """Just the engine method abandoned_prompt_tokens uses."""

    def __init__(self, count: int | None) -> None:
        self.count = count
        self.bodies: list[dict[str, Any]] = []

    async def tokenize(self, body: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        self.bodies.append(body)
        if self.count is None:
            raise OSError("engine gone")
        return {"count": self.count}


def test_a_record_holds_the_tally_and_the_caller() -> None:
    tally = UsageTally()
    tally.seen(b'{"usage": {"prompt_tokens": 4, "completion_tokens": 2}}')
    record = usage_record("r1", Caller("k1", "u1"), "m" * 300, "completions", 200, tally, False)
    assert (record.key_id, record.user_id, record.status_code) == ("k1", "u1", 200)
    assert (record.prompt_tokens, record.completion_tokens, record.cached_tokens) == (4, 2, 0)
    assert len(record.model) == 200
    assert not record.abandoned
    assert record.finished_at >= record.started_at
    assert record.ttft_ms is not None
    gone = usage_record("r2", Caller("static:ab"), "m", "chat/completions", 499, UsageTally(), True)
    assert gone.abandoned
    assert gone.user_id is None
    assert gone.ttft_ms is None


async def test_abandoned_streams_get_their_prompt_tokens_from_the_tokenizer() -> None:
    base = usage_record("r", Caller("k", "u"), "m", "chat/completions", 499, UsageTally(), True)
    tokenizer = Tokenizer(11)
    engine = cast(Engine, tokenizer)
    messages = [{"role": "user", "content": "hi"}]
    chat = await abandoned_prompt_tokens(engine, "chat/completions", {"messages": messages}, base)
    assert chat.prompt_tokens == 11
    assert tokenizer.bodies[-1] == {"model": "m", "messages": messages}
    await abandoned_prompt_tokens(engine, "completions", {"prompt": ["a", "b"]}, base)
    assert tokenizer.bodies[-1] == {"model": "m", "prompt": "ab"}
    await abandoned_prompt_tokens(engine, "responses", {"input": "hello"}, base)
    assert tokenizer.bodies[-1]["messages"][-1]["content"] == "hello"
    failing = usage_record("r", Caller("k", "u"), "m", "completions", 499, UsageTally(), True)
    failing.completion_tokens = 3
    done = await abandoned_prompt_tokens(
        cast(Engine, Tokenizer(None)), "completions", {"prompt": "x"}, failing
    )
    assert (done.prompt_tokens, done.completion_tokens) == (0, 3)
