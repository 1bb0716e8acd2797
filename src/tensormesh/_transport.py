"""One transport for sync and async: retries, error mapping and logging are shared; only the
send/read/close/sleep calls differ between `SyncTransport` and `AsyncTransport`."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections.abc import Mapping
from typing import Any

import httpx2

from ._config import ENV_CA_BUNDLE, ENV_CONTROL_PLANE_TOKEN, ENV_INFERENCE_API_KEY, ClientConfig
from ._endpoints import CONTROL_PLANE, SERVERLESS
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    ProtocolError,
    make_status_error,
)
from ._logging import logger, redact_headers, redact_url
from ._request import PreparedRequest, Surface
from ._retry import RetryPolicy

__all__ = ["AsyncTransport", "SyncTransport", "TransportBase", "transport_error"]

_LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)

_MISSING_KEY = (
    "No inference API key: pass inference_api_key=... to the client or set "
    f"{ENV_INFERENCE_API_KEY}. The serverless inference API does not accept a control-plane token."
)
_MISSING_TOKEN = (
    "No control-plane access token: pass control_plane_token=... to the client or set "
    f"{ENV_CONTROL_PLANE_TOKEN} (e.g. from `tm auth login`)."
)


def make_surfaces(config: ClientConfig) -> dict[str, Surface]:
    return {
        SERVERLESS: Surface(
            "inference_api_key", config.serverless_base_url, config.inference_api_key, _MISSING_KEY
        ),
        CONTROL_PLANE: Surface(
            "control_plane_token",
            config.control_plane_base_url,
            config.control_plane_token,
            _MISSING_TOKEN,
        ),
    }


def ssl_verify(config: ClientConfig) -> ssl.SSLContext | bool:
    """`verify=` for httpx2: the CA bundle's context, or True for the system's certificates."""
    if config.ca_bundle is None:
        return True
    try:
        if os.path.isdir(config.ca_bundle):
            return ssl.create_default_context(capath=config.ca_bundle)
        return ssl.create_default_context(cafile=config.ca_bundle)
    except (ssl.SSLError, OSError, ValueError) as exc:
        where = ENV_CA_BUNDLE if config.sources.get("ca_bundle") == "environment" else "ca_bundle"
        raise ConfigurationError(
            f"{where}={config.ca_bundle!r} holds no usable CA certificates ({exc}); "
            "point it at a PEM file of CA certificates",
            setting="ca_bundle",
        ) from exc


def transport_error(exc: httpx2.HTTPError, prepared: PreparedRequest) -> tuple[APIError, bool]:
    """(the SDK error for an httpx2 failure, whether a retry may help)."""
    rid = prepared.request_id
    where = prepared.describe()
    if isinstance(exc, httpx2.TimeoutException):
        kind = type(exc).__name__.replace("Timeout", "").lower() or "request"
        return APITimeoutError(f"{where} timed out ({kind}): {exc}", request_id=rid), True
    if isinstance(exc, httpx2.DecodingError):
        return ProtocolError(f"{where}: cannot decode the response: {exc}", request_id=rid), False
    retryable = isinstance(
        exc, (httpx2.NetworkError, httpx2.RemoteProtocolError, httpx2.ProxyError)
    )
    detail = str(exc) or type(exc).__name__
    return APIConnectionError(f"{where} failed: {detail}", request_id=rid), retryable


def status_error(prepared: PreparedRequest, response: httpx2.Response) -> APIStatusError:
    """The SDK error for an HTTP error response whose body has been read."""
    return make_status_error(
        response.status_code,
        response.content,
        request_id=response.headers.get("x-request-id") or prepared.request_id,
        response=response,
    )


class TransportBase:
    """What both transports share: configuration, surfaces, retry decisions and logging."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.surfaces = make_surfaces(config)
        self.retry_policy = RetryPolicy(max_retries=config.max_retries)

    def _http_options(self) -> dict[str, Any]:
        return {
            "verify": ssl_verify(self.config),
            "trust_env": True,
            "limits": _LIMITS,
            "timeout": self.config.timeout,
        }

    def _retry_delay(
        self, prepared: PreparedRequest, retries: int, *, status: int, headers: Mapping[str, str]
    ) -> float | None:
        delay = self.retry_policy.delay_after_status(prepared.method, retries, status, headers)
        if delay is not None:
            logger.info("%s got %d; retrying in %.2f s", prepared.describe(), status, delay)
        return delay

    def _error_delay(
        self, prepared: PreparedRequest, retries: int, exc: httpx2.HTTPError
    ) -> tuple[APIError, float | None]:
        error, retryable = transport_error(exc, prepared)
        delay = self.retry_policy.delay_after_error(prepared.method, retries, retryable)
        if delay is not None:
            logger.info("%s; retrying in %.2f s", error, delay)
        return error, delay

    @staticmethod
    def _log_request(prepared: PreparedRequest, retries: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            request = prepared.request
            logger.debug(
                "request %s %s attempt=%d headers=%s",
                request.method,
                redact_url(str(request.url)),
                retries + 1,
                redact_headers(request.headers.items()),
            )

    @staticmethod
    def _log_response(prepared: PreparedRequest, response: httpx2.Response) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "response %d to %s %s request_id=%s",
                response.status_code,
                prepared.method,
                redact_url(str(prepared.request.url)),
                response.headers.get("x-request-id", prepared.request_id),
            )


class SyncTransport(TransportBase):
    """Sends requests with one pooled `httpx2.Client`."""

    def __init__(self, config: ClientConfig, http_client: httpx2.Client | None = None) -> None:
        super().__init__(config)
        self.http = http_client or httpx2.Client(**self._http_options())

    def send(self, prepared: PreparedRequest, *, stream: bool = False) -> httpx2.Response:
        """Send with retries; return a successful response (body unread if `stream`)."""
        retries = 0
        while True:
            self._log_request(prepared, retries)
            try:
                response = self.http.send(prepared.request, stream=stream)
            except httpx2.HTTPError as exc:
                error, delay = self._error_delay(prepared, retries, exc)
                if delay is None:
                    raise error from exc
            else:
                self._log_response(prepared, response)
                delay = self._retry_delay(
                    prepared, retries, status=response.status_code, headers=response.headers
                )
                if delay is None:
                    if response.is_error:
                        raise self._read_error(prepared, response)
                    return response
                response.close()
            time.sleep(delay)
            retries += 1

    def _read_error(self, prepared: PreparedRequest, response: httpx2.Response) -> APIError:
        try:
            response.read()
        except httpx2.HTTPError as exc:
            return transport_error(exc, prepared)[0]
        finally:
            response.close()
        return status_error(prepared, response)

    def close(self) -> None:
        self.http.close()


class AsyncTransport(TransportBase):
    """Sends requests with one pooled `httpx2.AsyncClient`."""

    def __init__(self, config: ClientConfig, http_client: httpx2.AsyncClient | None = None) -> None:
        super().__init__(config)
        self.http = http_client or httpx2.AsyncClient(**self._http_options())

    async def send(self, prepared: PreparedRequest, *, stream: bool = False) -> httpx2.Response:
        """Send with retries; return a successful response (body unread if `stream`)."""
        retries = 0
        while True:
            self._log_request(prepared, retries)
            try:
                response = await self.http.send(prepared.request, stream=stream)
            except httpx2.HTTPError as exc:
                error, delay = self._error_delay(prepared, retries, exc)
                if delay is None:
                    raise error from exc
            else:
                self._log_response(prepared, response)
                delay = self._retry_delay(
                    prepared, retries, status=response.status_code, headers=response.headers
                )
                if delay is None:
                    if response.is_error:
                        raise await self._read_error(prepared, response)
                    return response
                await response.aclose()
            await asyncio.sleep(delay)
            retries += 1

    async def _read_error(self, prepared: PreparedRequest, response: httpx2.Response) -> APIError:
        try:
            await response.aread()
        except httpx2.HTTPError as exc:
            return transport_error(exc, prepared)[0]
        finally:
            await response.aclose()
        return status_error(prepared, response)

    async def close(self) -> None:
        await self.http.aclose()
