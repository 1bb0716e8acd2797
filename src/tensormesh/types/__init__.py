"""Typed request and response shapes of the Tensormesh APIs (pydantic v2, unknown fields kept)."""

from ._base import TensormeshModel
from .chat import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatCompletionCreateParams,
    ChatCompletionMessage,
    ChatMessage,
    ChoiceDelta,
    FunctionCall,
    ToolCall,
)
from .completions import Completion, CompletionChoice, CompletionCreateParams
from .models import Health, Model, ModelList, Version
from .money import Money, UsageCharge, usage_charge
from .responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContent,
    ResponseCreatedEvent,
    ResponseCreateParams,
    ResponseOutputItem,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)
from .shared import PromptTokensDetails, StreamOptions, Usage
from .tokenize import DetokenizeParams, DetokenizeResponse, TokenizeParams, TokenizeResponse

__all__ = [
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionChunkChoice",
    "ChatCompletionCreateParams",
    "ChatCompletionMessage",
    "ChatMessage",
    "ChoiceDelta",
    "Completion",
    "CompletionChoice",
    "CompletionCreateParams",
    "DetokenizeParams",
    "DetokenizeResponse",
    "FunctionCall",
    "Health",
    "Model",
    "ModelList",
    "Money",
    "PromptTokensDetails",
    "Response",
    "ResponseCompletedEvent",
    "ResponseContent",
    "ResponseCreateParams",
    "ResponseCreatedEvent",
    "ResponseOutputItem",
    "ResponseStreamEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "StreamOptions",
    "TensormeshModel",
    "TokenizeParams",
    "TokenizeResponse",
    "ToolCall",
    "Usage",
    "UsageCharge",
    "Version",
    "usage_charge",
]
