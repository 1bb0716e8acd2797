"""The `openai` engine: any OpenAI-compatible upstream (vLLM, llama.cpp, another tensormesh)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2

from tensormesh_server.errors import APIError
from tensormesh_server.models_config import ModelSpec, upstream_timeout_seconds

from .base import Engine, Generation, ModelInfo, Route
from .upstream import ReplicaPool, upstream_error


class OpenAICompatibleEngine(Engine):
    """Forwards requests to replicas, rewriting only `model`; streams pass through byte for byte."""

    tokenize_path = "/tokenize"
    detokenize_path = "/detokenize"
    health_path = "/health"

    def __init__(self, info: ModelInfo, upstream_model: str, pool: ReplicaPool | None) -> None:
        self.info = info
        self.upstream_model = upstream_model
        self._pool = pool

    @property
    def pool(self) -> ReplicaPool:
        """The replicas; raises a 503 APIError while the engine is not running."""
        if self._pool is None:
            raise APIError(503, f"model {self.info.id} is not running", type="service_unavailable")
        return self._pool

    @property
    def replicas(self) -> ReplicaPool | None:
        """The replica pool, or None while the engine is not running."""
        return self._pool

    async def start(self) -> None:
        """Learn `max_model_len` from the upstream's model list when not configured."""
        if self.info.max_model_len is not None or self._pool is None:
            return
        try:
            status, content = await self._pool.request("GET", "/v1/models", None)
            models = json.loads(content).get("data", []) if status == 200 else []
        except (APIError, ValueError, AttributeError):
            return  # unreachable or not a model list: GET /health will say so
        for model in models if isinstance(models, list) else []:
            length = model.get("max_model_len") if isinstance(model, dict) else None
            if model.get("id") == self.upstream_model and isinstance(length, int):
                self.info = dataclasses.replace(self.info, max_model_len=length)

    def _payload(self, body: dict[str, Any]) -> bytes:
        return json.dumps({**body, "model": self.upstream_model}).encode()

    async def _post(self, path: str, body: dict[str, Any], request_id: str | None) -> bytes:
        status, content = await self.pool.request("POST", path, self._payload(body), request_id)
        if status != 200:
            raise upstream_error(status, content, "replica")
        return content

    async def generate(
        self, route: Route, body: dict[str, Any], request_id: str | None
    ) -> Generation:
        """POST /v1/<route> and return the answer's bytes (`model` named as ours)."""
        content = await self._post(f"/v1/{route}", body, request_id)
        if self.upstream_model != self.info.id:
            answer = json.loads(content)
            if isinstance(answer, dict) and "model" in answer:
                answer["model"] = self.info.id
                content = json.dumps(answer).encode()
        return Generation(content)

    @asynccontextmanager
    async def stream(
        self, route: Route, body: dict[str, Any], request_id: str | None
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """POST /v1/<route> with stream=true; yield the body's raw chunks as they arrive."""
        async with self.pool.stream("POST", f"/v1/{route}", self._payload(body), request_id) as (
            response,
            chunks,
        ):
            if response.status_code != 200:
                raise upstream_error(response.status_code, await response.aread(), "replica")
            yield chunks

    async def tokenize(self, body: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        """Forward to the upstream's vLLM-style /tokenize."""
        answer: dict[str, Any] = json.loads(await self._post(self.tokenize_path, body, request_id))
        return answer

    async def detokenize(self, tokens: list[int], request_id: str | None) -> str:
        """Forward to the upstream's vLLM-style /detokenize."""
        answer = json.loads(await self._post(self.detokenize_path, {"tokens": tokens}, request_id))
        return str(answer.get("prompt", ""))

    async def health(self) -> str | None:
        """Ask the replicas' /health."""
        if self._pool is None:
            return f"model {self.info.id} is not running"
        why = await self.pool.check(self.health_path)
        return None if why is None else f"model {self.info.id}: {why}"


def openai_engine(spec: ModelSpec, transport: httpx2.AsyncBaseTransport) -> OpenAICompatibleEngine:
    """The engine for an `openai` model spec."""
    info = ModelInfo(
        id=spec.id,
        created=int(time.time()),
        owned_by="tensormesh",
        root=spec.upstream_name,
        max_model_len=spec.max_model_len,
    )
    timeout = spec.timeout_seconds or upstream_timeout_seconds()
    pool = ReplicaPool(transport, spec.upstream_urls, spec.api_key, timeout)
    return OpenAICompatibleEngine(info, spec.upstream_name, pool)
