"""The `embedded` engine: llama.cpp in this process (xllamacpp) serving a GGUF file on CPU.

xllamacpp runs llama.cpp's own OpenAI-compatible HTTP server on a private loopback port, guarded
by a random key. Talking to it over loopback HTTP keeps the event loop free, streams tokens as
they are generated, cancels generation when the connection closes, and reuses everything the
`openai` engine does. llama.cpp provides chat templates, sampling, parallel slots and the
prompt cache whose hits it reports as `usage.prompt_tokens_details.cached_tokens`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from typing import Any

import httpx2

from tensormesh_server.models_config import ModelSpec

from .base import EngineStartError, ModelInfo
from .openai import OpenAICompatibleEngine
from .upstream import ReplicaPool

PARALLEL_SLOTS = 4
"""Concurrent sequences; llama.cpp batches them, which suits 2 cores better than queueing."""
SLOT_CONTEXT = 2048
"""Tokens of context per slot."""
PROMPT_CACHE_MIB = 256
"""Host memory for llama.cpp's prompt cache of idle slots (its default is 8 GiB)."""


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _start_llama_server(path: str, model_id: str, key: str, max_model_len: int | None) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = path
    params.model_alias = {model_id}
    params.api_keys = [key]
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.n_parallel = PARALLEL_SLOTS
    params.n_ctx = PARALLEL_SLOTS * (max_model_len or SLOT_CONTEXT)
    params.cache_prompt = True
    params.cache_ram_mib = PROMPT_CACHE_MIB
    params.verbosity = -1
    params.cpuparams.n_threads = _threads()
    params.cpuparams_batch.n_threads = _threads()
    return xllamacpp.Server(params)


def _piece_text(piece: object) -> str:
    if isinstance(piece, list):  # llama.cpp sends invalid UTF-8 pieces as byte lists
        return bytes(int(b) for b in piece).decode("utf-8", errors="replace")
    return str(piece)


class EmbeddedEngine(OpenAICompatibleEngine):
    """A GGUF model run by llama.cpp inside this process."""

    def __init__(self, spec: ModelSpec, transport: httpx2.AsyncBaseTransport) -> None:
        info = ModelInfo(
            id=spec.id,
            created=int(time.time()),
            owned_by="tensormesh",
            root=spec.id,
            max_model_len=spec.max_model_len or SLOT_CONTEXT,
        )
        super().__init__(info, spec.id, None)
        self.path = spec.path or ""
        self._transport = transport
        self._server: Any = None
        self._key = secrets.token_urlsafe(24)

    async def start(self) -> None:
        """Load the model (about a second for SmolLM2) in a worker thread."""
        try:
            self._server = await asyncio.to_thread(
                _start_llama_server, self.path, self.info.id, self._key, self.info.max_model_len
            )
        except Exception as exc:
            raise EngineStartError(f"cannot load embedded model {self.path}: {exc}") from exc
        address = str(self._server.listening_address).rstrip("/")
        self._pool = ReplicaPool(self._transport, [address], self._key)

    async def aclose(self) -> None:
        """Stop llama.cpp (joins its threads, so off the event loop)."""
        holder = [self._server] if self._server is not None else []
        self._server, self._pool = None, None
        # The last reference is dropped in the worker thread, where llama.cpp then shuts down.
        await asyncio.to_thread(holder.clear)

    async def tokenize(self, body: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        """Tokenize text, or messages through the model's chat template."""
        if body.get("messages") is not None:
            template = {
                "messages": body["messages"],
                "add_generation_prompt": body.get("add_generation_prompt", True),
            }
            answer = json.loads(await self._post("/apply-template", template, request_id))
            text, add_special = answer["prompt"], body.get("add_special_tokens", False)
        else:
            text, add_special = body.get("prompt", ""), body.get("add_special_tokens", True)
        with_pieces = bool(body.get("return_token_strs"))
        request = {"content": text, "add_special": add_special, "with_pieces": with_pieces}
        answer = json.loads(await self._post("/tokenize", request, request_id))
        raw = answer.get("tokens", [])
        tokens = [t["id"] for t in raw] if with_pieces else list(raw)
        result: dict[str, Any] = {
            "count": len(tokens),
            "max_model_len": self.info.max_model_len,
            "tokens": tokens,
        }
        if with_pieces:
            result["token_strs"] = [_piece_text(t.get("piece", "")) for t in raw]
        return result

    async def detokenize(self, tokens: list[int], request_id: str | None) -> str:
        """The text of `tokens`."""
        answer = json.loads(await self._post("/detokenize", {"tokens": tokens}, request_id))
        return str(answer.get("content", ""))

    async def health(self) -> str | None:
        """llama.cpp's own /health."""
        if self._pool is None:
            return f"model {self.info.id} is not loaded"
        why = await self._pool.check("/health")
        return None if why is None else f"model {self.info.id}: {why}"
