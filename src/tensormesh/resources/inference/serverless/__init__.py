"""`client.inference.serverless`: the OpenAI-compatible serverless inference API."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from tensormesh._endpoints import SERVERLESS
from tensormesh.resources._namespace import AsyncSurfaceNamespace, SyncSurfaceNamespace

if TYPE_CHECKING:
    from .chat import AsyncChat, Chat
    from .completions import AsyncCompletions, Completions
    from .models import (
        AsyncHealthResource,
        AsyncModels,
        AsyncVersionResource,
        HealthResource,
        Models,
        VersionResource,
    )
    from .responses import AsyncResponses, Responses
    from .tokenize import AsyncDetokenize, AsyncTokenize, Detokenize, Tokenize

__all__ = ["AsyncServerless", "Serverless"]


class Serverless(SyncSurfaceNamespace):
    """Serverless inference: chat, completions, responses, tokenize, models, health, version."""

    _surface = SERVERLESS

    @cached_property
    def chat(self) -> Chat:
        from .chat import Chat

        return Chat(self._transport)

    @cached_property
    def completions(self) -> Completions:
        from .completions import Completions

        return Completions(self._transport)

    @cached_property
    def responses(self) -> Responses:
        from .responses import Responses

        return Responses(self._transport)

    @cached_property
    def tokenize(self) -> Tokenize:
        from .tokenize import Tokenize

        return Tokenize(self._transport)

    @cached_property
    def detokenize(self) -> Detokenize:
        from .tokenize import Detokenize

        return Detokenize(self._transport)

    @cached_property
    def models(self) -> Models:
        from .models import Models

        return Models(self._transport)

    @cached_property
    def health(self) -> HealthResource:
        from .models import HealthResource

        return HealthResource(self._transport)

    @cached_property
    def version(self) -> VersionResource:
        from .models import VersionResource

        return VersionResource(self._transport)


class AsyncServerless(AsyncSurfaceNamespace):
    """Serverless inference (async): the same names as `Serverless`; methods are coroutines."""

    _surface = SERVERLESS

    @cached_property
    def chat(self) -> AsyncChat:
        from .chat import AsyncChat

        return AsyncChat(self._transport)

    @cached_property
    def completions(self) -> AsyncCompletions:
        from .completions import AsyncCompletions

        return AsyncCompletions(self._transport)

    @cached_property
    def responses(self) -> AsyncResponses:
        from .responses import AsyncResponses

        return AsyncResponses(self._transport)

    @cached_property
    def tokenize(self) -> AsyncTokenize:
        from .tokenize import AsyncTokenize

        return AsyncTokenize(self._transport)

    @cached_property
    def detokenize(self) -> AsyncDetokenize:
        from .tokenize import AsyncDetokenize

        return AsyncDetokenize(self._transport)

    @cached_property
    def models(self) -> AsyncModels:
        from .models import AsyncModels

        return AsyncModels(self._transport)

    @cached_property
    def health(self) -> AsyncHealthResource:
        from .models import AsyncHealthResource

        return AsyncHealthResource(self._transport)

    @cached_property
    def version(self) -> AsyncVersionResource:
        from .models import AsyncVersionResource

        return AsyncVersionResource(self._transport)
