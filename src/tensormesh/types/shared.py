"""Shapes used by several endpoints: usage counters and stream options."""

from __future__ import annotations

from pydantic import model_validator
from typing_extensions import TypedDict

from ._base import TensormeshModel

__all__ = ["PromptTokensDetails", "StreamOptions", "Usage"]


class PromptTokensDetails(TensormeshModel):
    """Details of the prompt tokens: how many came from the KV/prefix cache."""

    cached_tokens: int | None = None


class Usage(TensormeshModel):
    """Token counts of one request.

    Chat/completions report `prompt_tokens`/`completion_tokens`; Responses may report
    `input_tokens`/`output_tokens` instead, which fill in the chat names when those are missing.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _chat_names(cls, data: object) -> object:
        if isinstance(data, dict) and "prompt_tokens" not in data and "input_tokens" in data:
            data = dict(data)
            data["prompt_tokens"] = data.get("input_tokens") or 0
            data["completion_tokens"] = data.get("output_tokens") or 0
            data.setdefault("total_tokens", data["prompt_tokens"] + data["completion_tokens"])
            details = data.get("input_tokens_details")
            if "prompt_tokens_details" not in data and isinstance(details, dict):
                data["prompt_tokens_details"] = details
        return data


class StreamOptions(TypedDict, total=False):
    """`stream_options`: set include_usage to get a last chunk that carries `usage`."""

    include_usage: bool
