"""`Tensormesh` and `AsyncTensormesh`: configuration, one pooled HTTP client, the namespaces."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx2

from ._config import ClientConfig, resolve_config
from ._logging import configure_logging
from ._transport import AsyncTransport, SyncTransport, TransportBase

if TYPE_CHECKING:
    from .resources.control_plane import AsyncControlPlane, ControlPlane
    from .resources.inference import AsyncInference, Inference

__all__ = ["AsyncTensormesh", "Tensormesh"]


HttpClientT = TypeVar("HttpClientT", httpx2.Client, httpx2.AsyncClient)


class _ClientBase(Generic[HttpClientT]):
    """The constructor both clients share; each subclass only makes its own transport."""

    config: ClientConfig

    def __init__(
        self,
        *,
        control_plane_token: str | None = None,
        control_plane_base_url: str | None = None,
        inference_api_key: str | None = None,
        serverless_base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        http_client: HttpClientT | None = None,
    ) -> None:
        self.config = resolve_config(
            control_plane_token=control_plane_token,
            control_plane_base_url=control_plane_base_url,
            inference_api_key=inference_api_key,
            serverless_base_url=serverless_base_url,
            timeout=timeout,
            max_retries=max_retries,
            ca_bundle=ca_bundle,
            env=env,
        )
        configure_logging(self.config.log_level)
        self._transport = self._make_transport(http_client)

    def _make_transport(self, http_client: HttpClientT | None) -> TransportBase:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


class Tensormesh(_ClientBase[httpx2.Client]):
    """Client of the Tensormesh APIs. Every argument is optional and keyword-only; each one
    not given comes from its environment variable (`env`, else os.environ), else a default.

    `inference.serverless` needs `inference_api_key` (TENSORMESH_INFERENCE_API_KEY) for POST
    routes; `control_plane` uses `control_plane_token` (TENSORMESH_CONTROL_PLANE_TOKEN).
    Use it as a context manager, or call `close()`, to release its connections.
    `http_client` replaces the internal httpx2.Client (e.g. with a mock transport).
    """

    _transport: SyncTransport

    def _make_transport(self, http_client: httpx2.Client | None) -> SyncTransport:
        return SyncTransport(self.config, http_client)

    @cached_property
    def inference(self) -> Inference:
        """Inference APIs: `inference.serverless`."""
        from .resources.inference import Inference

        return Inference(self._transport)

    @cached_property
    def control_plane(self) -> ControlPlane:
        """The Control Plane API."""
        from .resources.control_plane import ControlPlane

        return ControlPlane(self._transport)

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> Tensormesh:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTensormesh(_ClientBase[httpx2.AsyncClient]):
    """Async client of the Tensormesh APIs: the same arguments and names as `Tensormesh`;
    methods are coroutines and streams are async iterables. Use `async with`, or
    `await close()`."""

    _transport: AsyncTransport

    def _make_transport(self, http_client: httpx2.AsyncClient | None) -> AsyncTransport:
        return AsyncTransport(self.config, http_client)

    @cached_property
    def inference(self) -> AsyncInference:
        """Inference APIs: `inference.serverless`."""
        from .resources.inference import AsyncInference

        return AsyncInference(self._transport)

    @cached_property
    def control_plane(self) -> AsyncControlPlane:
        """The Control Plane API."""
        from .resources.control_plane import AsyncControlPlane

        return AsyncControlPlane(self._transport)

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncTensormesh:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
