"""SSE decoding: chat chunks/s decoded from one long stream by the SDK, `openai` and raw httpx2.

The bench responder sends `max_tokens` chat chunks as one HTTP chunk per event; the client in
this process is the bottleneck, so the rate is the client's decoding speed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx2
import openai

from tensormesh import Tensormesh

from .common import API_KEY, CHAT_BODY, Block, Row, interleave, median, time_ratio

MODEL = str(CHAT_BODY["model"])
MESSAGES: object = CHAT_BODY["messages"]


def _timed(read: Callable[[], int]) -> Block:
    def block() -> tuple[int, float]:
        began = time.perf_counter()
        count = read()
        return count, time.perf_counter() - began

    return block


def sse_decoding(base_url: str, chunks: int, rounds: int, say: Callable[[str], None]) -> Row:
    """Chunks/s of one stream of `chunks` chat chunks, per client."""
    url = base_url + "/v1/chat/completions"
    headers = {"authorization": f"Bearer {API_KEY}"}
    body = {**CHAT_BODY, "stream": True, "max_tokens": chunks}
    sdk = Tensormesh(inference_api_key=API_KEY, serverless_base_url=base_url)
    raw = httpx2.Client()
    oai = openai.OpenAI(api_key=API_KEY, base_url=base_url + "/v1")
    completions = sdk.inference.serverless.chat.completions

    def read_sdk() -> int:
        with completions.create(
            model=MODEL, messages=MESSAGES, stream=True, max_tokens=chunks
        ) as stream:
            return sum(1 for _ in stream)

    def read_openai() -> int:
        stream = oai.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            max_tokens=chunks,
        )
        with stream:
            return sum(1 for _ in stream)

    def read_raw() -> int:
        count = 0
        with raw.stream("POST", url, json=body, headers=headers) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])
                    count += 1
        return count

    measures = {"sdk": _timed(read_sdk), "openai": _timed(read_openai), "httpx2": _timed(read_raw)}
    say(f"SSE chunks/s decoded from one stream of {chunks:,} chunks (SDK, openai, raw httpx2):")
    try:
        counts = {name: measure()[0] for name, measure in measures.items()}  # warm-up
        if len(set(counts.values())) != 1:
            raise RuntimeError(f"the clients saw different numbers of chunks: {counts}")
        samples = interleave(rounds, 1, measures, say)
    finally:
        sdk.close()
        raw.close()
        oai.close()
    vs_openai = time_ratio(samples["sdk"], samples["openai"])
    vs_raw = time_ratio(samples["sdk"], samples["httpx2"])
    sdk_rate, oai_rate, raw_rate = (median(samples[k]) for k in ("sdk", "openai", "httpx2"))
    return Row(
        name="SSE chunks/s, one long stream",
        measured=f"sdk {sdk_rate:,.0f} | openai {oai_rate:,.0f} | httpx2 lines {raw_rate:,.0f}",
        ratio=vs_openai,
        target="sdk/openai time <= 1.00",
        passed=vs_openai <= 1.0,
        details={
            "chunks_per_stream": counts["sdk"],
            "chunks_per_second": {k: median(v) for k, v in samples.items()},
            "samples": samples,
            "time_ratio_sdk_over_openai": vs_openai,
            "time_ratio_sdk_over_httpx2_iter_lines": vs_raw,
        },
    )
