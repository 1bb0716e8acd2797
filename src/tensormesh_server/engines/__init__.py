"""Engines behind one interface: `embedded` (llama.cpp in process) and `openai` (upstreams)."""

from __future__ import annotations

from collections.abc import Iterable

import httpx2

from tensormesh_server.models_config import ModelSpec

from .base import Engine, EngineStartError, Generation, ModelInfo, Route
from .embedded import EmbeddedEngine
from .openai import OpenAICompatibleEngine, openai_engine

__all__ = [
    "EmbeddedEngine",
    "Engine",
    "EngineStartError",
    "Generation",
    "ModelInfo",
    "OpenAICompatibleEngine",
    "Route",
    "build_engines",
]


def build_engines(
    specs: Iterable[ModelSpec], transport: httpx2.AsyncBaseTransport
) -> dict[str, Engine]:
    """One engine per model spec, keyed by model id (not started yet)."""
    engines: dict[str, Engine] = {}
    for spec in specs:
        engines[spec.id] = (
            EmbeddedEngine(spec, transport)
            if spec.engine == "embedded"
            else openai_engine(spec, transport)
        )
    return engines
