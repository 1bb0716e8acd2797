"""Client overhead: the SDK against raw httpx2 and the `openai` client on the same responder.

Each measure sends non-streamed chat completions and parses the answer (the SDK and `openai`
into their typed models, httpx2 with `response.json()`), in this process, against the bench
responder running in its own process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import openai

from tensormesh import AsyncTensormesh, Tensormesh

from .common import API_KEY, CHAT_BODY, Block, Row, interleave, median, time_ratio

MESSAGES: Any = CHAT_BODY["messages"]
MODEL = str(CHAT_BODY["model"])
HEADERS = {"authorization": f"Bearer {API_KEY}"}


def _sync_block(call: Callable[[], object], count: int) -> Block:
    def block() -> tuple[int, float]:
        began = time.perf_counter()
        for _ in range(count):
            call()
        return count, time.perf_counter() - began

    return block


async def _async_block(
    call: Callable[[], Awaitable[object]], count: int, in_flight: int
) -> tuple[int, float]:
    async def worker(share: int) -> None:
        for _ in range(share):
            await call()

    share = max(1, count // in_flight)
    began = time.perf_counter()
    await asyncio.gather(*(worker(share) for _ in range(in_flight)))
    return share * in_flight, time.perf_counter() - began


def sync_sequential(
    base_url: str, block: int, blocks: int, rounds: int, say: Callable[[str], None]
) -> Row:
    """Requests/s of sequential non-streamed chat completions, one client each."""
    url = base_url + "/v1/chat/completions"
    sdk = Tensormesh(inference_api_key=API_KEY, serverless_base_url=base_url)
    raw = httpx2.Client()
    oai = openai.OpenAI(api_key=API_KEY, base_url=base_url + "/v1")
    completions = sdk.inference.serverless.chat.completions
    calls: dict[str, Callable[[], object]] = {
        "sdk": lambda: completions.create(model=MODEL, messages=MESSAGES),
        "httpx2": lambda: raw.post(url, json=CHAT_BODY, headers=HEADERS).json(),
        "openai": lambda: oai.chat.completions.create(model=MODEL, messages=MESSAGES),
    }
    measures = {name: _sync_block(call, block) for name, call in calls.items()}
    say("sync sequential requests/s (SDK, raw httpx2, openai):")
    try:
        for measure in measures.values():  # warm up connections and code paths
            measure()
        samples = interleave(rounds, blocks, measures, say)
    finally:
        sdk.close()
        raw.close()
        oai.close()
    return overhead_row("sync sequential req/s", samples)


def async_in_flight(
    base_url: str, block: int, blocks: int, rounds: int, in_flight: int, say: Callable[[str], None]
) -> Row:
    """Requests/s of non-streamed chat completions with `in_flight` concurrent requests."""
    loop = asyncio.new_event_loop()
    url = base_url + "/v1/chat/completions"
    sdk = AsyncTensormesh(inference_api_key=API_KEY, serverless_base_url=base_url)
    raw = httpx2.AsyncClient()
    oai = openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url + "/v1")
    completions = sdk.inference.serverless.chat.completions

    async def raw_call() -> object:
        return (await raw.post(url, json=CHAT_BODY, headers=HEADERS)).json()

    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "sdk": lambda: completions.create(model=MODEL, messages=MESSAGES),
        "httpx2": raw_call,
        "openai": lambda: oai.chat.completions.create(model=MODEL, messages=MESSAGES),
    }

    def on_loop(call: Callable[[], Awaitable[object]]) -> Block:
        return lambda: loop.run_until_complete(_async_block(call, block, in_flight))

    async def close() -> None:
        await asyncio.gather(sdk.close(), raw.aclose(), oai.close())

    measures = {name: on_loop(call) for name, call in calls.items()}
    say(f"async requests/s with {in_flight} in flight (SDK, raw httpx2, openai):")
    try:
        for measure in measures.values():  # open the connections, warm the code paths
            measure()
        samples = interleave(rounds, blocks, measures, say)
    finally:
        loop.run_until_complete(close())
        loop.close()
    return overhead_row(f"async req/s, {in_flight} in flight", samples)


def overhead_row(name: str, samples: dict[str, list[float]]) -> Row:
    """SDK time per request over httpx2's (median of per-round ratios); PASS when it is at
    most 1.25 and the SDK is faster than `openai`."""
    vs_raw = time_ratio(samples["sdk"], samples["httpx2"])
    vs_openai = time_ratio(samples["sdk"], samples["openai"])
    sdk, raw, oai = (median(samples[k]) for k in ("sdk", "httpx2", "openai"))
    return Row(
        name=name,
        measured=f"sdk {sdk:,.0f} | httpx2 {raw:,.0f} | openai {oai:,.0f}",
        ratio=vs_raw,
        target="sdk/httpx2 time <= 1.25, < openai",
        passed=vs_raw <= 1.25 and vs_openai < 1.0,
        details={
            "requests_per_second": {k: median(v) for k, v in samples.items()},
            "samples": samples,
            "time_ratio_sdk_over_httpx2": vs_raw,
            "time_ratio_sdk_over_openai": vs_openai,
        },
    )
