"""Tokenize and detokenize (vLLM shapes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import Field
from typing_extensions import Required

from tensormesh._options import RequestOptions

from ._base import TensormeshModel
from .chat import ChatMessage

__all__ = [
    "DetokenizeParams",
    "DetokenizeResponse",
    "TokenizeParams",
    "TokenizeResponse",
]


class TokenizeResponse(TensormeshModel):
    count: int = 0
    max_model_len: int | None = None
    tokens: list[int] = Field(default_factory=list)
    token_strs: list[str] | None = None


class DetokenizeResponse(TensormeshModel):
    prompt: str = ""


class TokenizeParams(RequestOptions, total=False):
    """Keyword arguments of `tokenize.create`: give `prompt` or `messages`."""

    model: Required[str]
    prompt: str | None
    messages: Iterable[ChatMessage | Mapping[str, Any]] | None
    add_special_tokens: bool | None
    add_generation_prompt: bool | None
    return_token_strs: bool | None


class DetokenizeParams(RequestOptions, total=False):
    """Keyword arguments of `detokenize.create`."""

    model: Required[str]
    tokens: Required[Sequence[int]]
