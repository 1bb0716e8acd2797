"""The serverless inference surface (API.md §1) as a lean ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from . import responses_api, serverless_openapi, sse
from .asgi import EVENT_STREAM, Receive, Request, Scope, Send, cancel_on_disconnect
from .auth import Caller, KeyVerifier, authenticate
from .engines.base import Engine, Route
from .engines.embedded import PARALLEL_SLOTS, EmbeddedEngine
from .errors import APIError
from .limits import EngineGate, RateLimiter, rate_limit_error
from .limits.settings import LimitSettings
from .metering import Metering, UsageTally
from .metering.record import UsageRecord
from .metering.requests import ABANDONED, abandoned_prompt_tokens, usage_record
from .metrics import Metrics
from .validation import (
    require_model,
    validate_chat,
    validate_completion,
    validate_detokenize,
    validate_responses,
    validate_tokenize,
)

logger = logging.getLogger("tensormesh_server")

Handler = Callable[[Request], Awaitable[None]]
_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class ServerlessApp:
    """Routes, auth and validation in front of the engines; the engines do the work."""

    def __init__(
        self,
        engines: Mapping[str, Engine],
        verifier: KeyVerifier,
        version: str,
        metrics: Metrics | None = None,
        metering: Metering | None = None,
        limiter: RateLimiter | None = None,
        limit_settings: LimitSettings | None = None,
    ) -> None:
        self.engines = dict(engines)
        self.limiter = limiter
        """Per-key rate limits (None: not enforced)."""
        self.limit_settings = limit_settings
        """Bounds of each engine's gate (None: no overload protection)."""
        self._gates: dict[str, EngineGate] = {}
        self.verifier = verifier
        self.metering = metering
        self.metrics = metrics or Metrics()
        self._version = json.dumps({"version": version}).encode()
        self._openapi = json.dumps(serverless_openapi.document(version)).encode()
        self._models = json.dumps(
            {"object": "list", "data": [e.info.to_json() for e in self.engines.values()]}
        ).encode()
        self.routes: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): self.chat_completions,
            ("POST", "/v1/completions"): self.completions,
            ("POST", "/v1/responses"): self.responses,
            ("POST", "/tokenize"): self.tokenize,
            ("POST", "/detokenize"): self.detokenize,
            ("GET", "/v1/models"): self.models,
            ("GET", "/health"): self.health,
            ("GET", "/version"): self.version,
            ("GET", "/metrics"): self.prometheus,
            ("GET", "/openapi.json"): self.openapi,
        }
        self._paths = {path for _, path in self.routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive, send)
        method, path = scope["method"], scope["path"]
        handler = self.routes.get((method, path))
        try:
            if handler is not None:
                await handler(request)
            elif path in self._paths:
                raise APIError(
                    405, f"method {method} is not allowed on {path}", code="method_not_allowed"
                )
            else:
                raise APIError(404, f"no route {method} {path}", code="not_found")
        except APIError as error:
            if not request.started:
                await request.respond_error(error)
        except asyncio.CancelledError:
            # The shutdown deadline passed and the server cancels what still runs: end cleanly.
            await _end_on_shutdown(request)
        except Exception:
            logger.exception("internal error on %s %s", method, path)
            if not request.started:
                await request.respond_error(
                    APIError(500, "internal server error", type="server_error")
                )

    def set_engines(self, engines: Mapping[str, Engine]) -> None:
        """Serve this model set from now on (requests already running keep their engine)."""
        self.engines = dict(engines)
        self._models = json.dumps(
            {"object": "list", "data": [e.info.to_json() for e in self.engines.values()]}
        ).encode()

    # -- helpers -------------------------------------------------------------------------------

    def engine_for(self, model: str) -> Engine:
        """The engine serving `model` (404 pointing at GET /v1/models)."""
        engine = self.engines.get(model)
        if engine is None:
            raise APIError(
                404,
                f"The model `{model}` does not exist. "
                "List the available models with GET /v1/models.",
                param="model",
                code="model_not_found",
            )
        return engine

    def gate_for(self, engine: Engine) -> contextlib.AbstractAsyncContextManager[None]:
        """A slot of the engine's overload gate (nothing when no bounds are configured)."""
        if self.limit_settings is None:
            return contextlib.nullcontext()
        gate = self._gates.get(engine.info.id)
        if gate is None:
            slots = PARALLEL_SLOTS if isinstance(engine, EmbeddedEngine) else None
            gate = self._gates[engine.info.id] = self.limit_settings.gate(slots)
        return gate.slot()

    async def _authorized_body(self, request: Request) -> dict[str, Any]:
        await authenticate(self.verifier, request.authorization)
        return await request.json_object()

    async def _generate(
        self,
        request: Request,
        route_name: str,
        validate: Callable[[dict[str, Any]], None],
        run: Callable[
            [Request, Engine, dict[str, Any], UsageTally], Awaitable[dict[str, Any] | None]
        ],
    ) -> None:
        """Auth, parse, validate, check the balance, then `run` with metrics, metering and
        disconnect handling around it."""
        began = time.perf_counter()
        model = "-"
        caller: Caller | None = None
        tally = UsageTally(began)
        try:
            caller = await authenticate(self.verifier, request.authorization)
            body = await request.json_object()
            model = require_model(body)
            engine = self.engine_for(model)
            validate(body)
            if self.metering is not None:
                await self.metering.admit(caller.user_id)
            if self.limiter is not None and caller.limits.limited:
                decision = await self.limiter.acquire(caller.key_id, caller.limits)
                request.response_headers = decision.headers()
                if not decision.allowed:
                    raise rate_limit_error(decision)
        except APIError as error:
            label = model if model in self.engines else "-"  # no label per unknown name
            self.metrics.record(route_name, label, error.status, time.perf_counter() - began)
            self._meter(request, caller, model, route_name, error.status, tally)
            raise
        metrics = self.metrics
        metrics.started(model)
        status = 499
        try:
            usage: dict[str, Any] | None = None

            async def work() -> None:
                nonlocal usage, status
                async with self.gate_for(engine):
                    usage = await run(request, engine, body, tally)
                status = 200

            await cancel_on_disconnect(request, work())
            if status == ABANDONED and tally.usage is not None:
                # The engine had finished (its usage came): the client left during the last bytes.
                status, usage = 200, tally.usage
        except APIError as error:
            status = error.status
            if request.started:  # a stream that failed after its 200: what it streamed counts
                prompt, completion, _ = tally.counts()
                await self._count_tokens(caller, prompt + completion)
            raise
        except asyncio.CancelledError:
            status = 503  # cancelled at the shutdown deadline (a disconnect returns normally)
            raise
        except Exception:
            status = 500
            raise
        finally:
            metrics.finished(route_name, model, status, time.perf_counter() - began)
            self._meter(request, caller, model, route_name, status, tally, engine, body)
        metrics.add_usage(model, usage)
        if status == ABANDONED and tally.usage is None and self.metering is not None:
            return  # its tokens count once the record has the prompt's (see _meter)
        prompt, completion, _ = tally.counts()  # what the record meters
        await self._count_tokens(caller, prompt + completion)

    async def _count_tokens(self, caller: Caller, tokens: int) -> None:
        """Add a request's metered tokens to its key's tokens-per-minute window."""
        if self.limiter is not None and caller.limits.tokens_per_minute is not None:
            await self.limiter.add_tokens(caller.key_id, caller.limits, tokens)

    async def _count_record(self, caller: Caller, record: Awaitable[UsageRecord]) -> UsageRecord:
        """`record` once completed, its tokens added to the key's tokens-per-minute window."""
        done = await record
        await self._count_tokens(caller, done.prompt_tokens + done.completion_tokens)
        return done

    def _meter(
        self,
        request: Request,
        caller: Caller | None,
        model: str,
        route_name: str,
        status: int,
        tally: UsageTally,
        engine: Engine | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Hand the request's record to the meter (an in-memory append)."""
        if self.metering is None or caller is None:
            return
        stream = bool(body and body.get("stream"))
        record = usage_record(request.request_id, caller, model, route_name, status, tally, stream)
        if record.abandoned and tally.usage is None and engine is not None and body is not None:
            prompt = abandoned_prompt_tokens(engine, route_name, body, record)
            self.metering.meter.add_later(self._count_record(caller, prompt))
            return
        self.metering.meter.add(record)

    # -- generation routes -----------------------------------------------------------------------

    async def chat_completions(self, request: Request) -> None:
        """POST /v1/chat/completions."""
        await self._generate(request, "chat/completions", validate_chat, self._forward_chat)

    async def completions(self, request: Request) -> None:
        """POST /v1/completions."""
        await self._generate(request, "completions", validate_completion, self._forward_completion)

    async def responses(self, request: Request) -> None:
        """POST /v1/responses (translated to chat completions)."""
        await self._generate(request, "responses", validate_responses, self._run_responses)

    async def _forward_chat(
        self, request: Request, engine: Engine, body: dict[str, Any], tally: UsageTally
    ) -> dict[str, Any] | None:
        return await self._forward(request, engine, "chat/completions", body, tally)

    async def _forward_completion(
        self, request: Request, engine: Engine, body: dict[str, Any], tally: UsageTally
    ) -> dict[str, Any] | None:
        return await self._forward(request, engine, "completions", body, tally)

    async def _forward(
        self,
        request: Request,
        engine: Engine,
        route: Route,
        body: dict[str, Any],
        tally: UsageTally,
    ) -> dict[str, Any] | None:
        """Relay an engine's answer; stream events go through as they are, except the usage
        chunk the client did not ask for (the tally keeps it). Returns the usage."""
        if not body.get("stream"):
            generation = await engine.generate(route, body, request.request_id)
            tally.seen(generation.content)
            await request.respond(200, generation.content)
            return tally.usage
        try:
            async with engine.stream(
                route, tally.ask_for_usage(body), request.request_id
            ) as chunks:
                await request.start(200, EVENT_STREAM, _SSE_HEADERS)
                async for chunk in chunks:
                    relayed = tally.relay(chunk)
                    if relayed:
                        await request.chunk(relayed)
                rest = tally.rest()
                if rest:
                    await request.chunk(rest)
        except APIError as error:
            if not request.started:
                raise
            await _end_with_error(request, error)
            raise  # metrics and metering record the error's status
        await request.end()
        return tally.usage

    async def _run_responses(
        self, request: Request, engine: Engine, body: dict[str, Any], tally: UsageTally
    ) -> dict[str, Any] | None:
        builder = responses_api.ResponseBuilder(body, engine.info.id)
        chat = responses_api.to_chat(body)
        if not body.get("stream"):
            chat["stream"] = False
            generation = await engine.generate("chat/completions", chat, request.request_id)
            tally.seen(generation.content)
            answer = json.loads(generation.content)
            response = builder.from_chat(answer)
            await request.respond_json(200, response)
            return tally.usage
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
        try:
            async with engine.stream("chat/completions", chat, request.request_id) as chunks:
                await request.start(200, EVENT_STREAM, _SSE_HEADERS)
                async for event in responses_api.stream_events(builder, tally.watch(chunks)):
                    await request.chunk(event)
        except APIError as error:
            if not request.started:
                raise
            await _end_with_error(request, error)
            raise  # metrics and metering record the error's status
        await request.end()
        return builder.chat_usage

    # -- tokenizer routes ------------------------------------------------------------------------

    async def tokenize(self, request: Request) -> None:
        """POST /tokenize (vLLM shape)."""
        body = await self._authorized_body(request)
        engine = self.engine_for(require_model(body))
        validate_tokenize(body)
        await request.respond_json(200, await engine.tokenize(body, request.request_id))

    async def detokenize(self, request: Request) -> None:
        """POST /detokenize (vLLM shape)."""
        body = await self._authorized_body(request)
        engine = self.engine_for(require_model(body))
        validate_detokenize(body)
        text = await engine.detokenize(body["tokens"], request.request_id)
        await request.respond_json(200, {"prompt": text})

    # -- read-only routes ------------------------------------------------------------------------

    async def models(self, request: Request) -> None:
        """GET /v1/models."""
        await request.respond(200, self._models)

    async def version(self, request: Request) -> None:
        """GET /version."""
        await request.respond(200, self._version)

    async def health(self, request: Request) -> None:
        """GET /health: 200 when at least one engine can serve, else 503 with the reasons."""
        if not self.engines:
            await request.respond_json(503, {"status": "no models are configured"})
            return
        reasons = await asyncio.gather(*(e.health() for e in self.engines.values()))
        if any(reason is None for reason in reasons):
            await request.respond_json(200, {"status": "healthy"})
            return
        await request.respond_json(
            503, {"status": "unhealthy: " + "; ".join(str(r) for r in reasons)}
        )

    async def openapi(self, request: Request) -> None:
        """GET /openapi.json (the document of this surface)."""
        await request.respond(200, self._openapi)

    async def prometheus(self, request: Request) -> None:
        """GET /metrics (Prometheus text format)."""
        text = self.metrics.render().encode()
        await request.respond(200, text, b"text/plain; version=0.0.4; charset=utf-8")


async def _end_with_error(request: Request, error: APIError) -> None:
    """End a stream that already sent its 200 with an error event (API.md §1)."""
    await request.chunk(sse.error_event(error))
    await request.end()


async def _end_on_shutdown(request: Request) -> None:
    error = APIError(503, "the server is shutting down", type="service_unavailable")
    with contextlib.suppress(Exception):
        if not request.started:
            await request.respond_error(error)
        elif not request.finished:
            await request.chunk(sse.error_event(error))
            await request.end()


async def _lifespan(receive: Receive, send: Send) -> None:
    # Engines are started and stopped by the runner around the server, not here.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
