"""Text completions: request parameters and responses (also the stream chunk shape)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field
from typing_extensions import Required

from tensormesh._options import RequestOptions

from ._base import TensormeshModel
from .shared import StreamOptions, Usage

__all__ = ["Completion", "CompletionChoice", "CompletionCreateParams"]


class CompletionChoice(TensormeshModel):
    index: int = 0
    text: str = ""
    finish_reason: str | None = None
    logprobs: Any = None


class Completion(TensormeshModel):
    """A text completion, or one chunk of a streamed one."""

    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    choices: list[CompletionChoice] = Field(default_factory=list)
    usage: Usage | None = None


class CompletionCreateParams(RequestOptions, total=False):
    """Keyword arguments of `completions.create` (API.md §1); unset ones are not sent."""

    model: Required[str]
    prompt: Required[str | Sequence[str]]
    stream_options: StreamOptions | None
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop: str | Sequence[str] | None
    n: int | None
    seed: int | None
    echo: bool | None
    logprobs: int | None
    presence_penalty: float | None
    frequency_penalty: float | None
    user: str | None
    top_k: int | None
    min_p: float | None
    typical_p: float | None
    repetition_penalty: float | None
    ignore_eos: bool | None
