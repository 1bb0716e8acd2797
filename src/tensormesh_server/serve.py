"""Run the surfaces of `tm server up` under uvicorn (httptools, uvloop) in one process: the
serverless inference API and the Control Plane, each on its own socket, over one database;
graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from typing import Any

import uvicorn

from tensormesh import __version__

from .app import ServerlessApp
from .asgi import Receive, Scope, Send
from .auth import KeyVerifier, StaticKeyVerifier
from .controlplane.app import ControlPlaneApp
from .controlplane.key_verifier import AnyKeyVerifier, DatabaseKeyVerifier
from .controlplane.runtime import build_app as build_controlplane
from .controlplane.runtime import prepare_database
from .engines import Engine, EngineStartError, build_engines
from .engines.upstream import make_transport
from .limits.settings import LimitSettings
from .metering import MeteringSettings, database_metering
from .models_config import SettingsError
from .registry import ModelRegistry
from .registry.sharing import share_gateway_metrics
from .settings import ENV_API_KEYS, ServerSettings
from .store.database import Database, DatabaseError

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("tensormesh_server")


class _Server(uvicorn.Server):
    """uvicorn's server, with signals handled by us so that a SIGTERM ends with exit code 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def configure_logging() -> None:
    """Log lines to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def bind(host: str, port: int) -> socket.socket:
    """Listen on host:port now, so that a busy port is a clear error before anything loads."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SettingsError(f"cannot resolve host {host!r}: {exc.strerror}", exit_code=1) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise SettingsError(f"cannot listen on {host}:{port}: {reason}", exit_code=1) from None
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def _stop_engines(engines: dict[str, Engine]) -> None:
    await asyncio.gather(*(engine.aclose() for engine in engines.values()), return_exceptions=True)


def _uvicorn(app: ASGIApp, settings: ServerSettings) -> _Server:
    config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_seconds),
        timeout_keep_alive=30,
        proxy_headers=False,
        server_header=False,
    )
    return _Server(config)


def _key_verifier(settings: ServerSettings, keys: DatabaseKeyVerifier) -> KeyVerifier:
    """Database keys, plus the static keys the operator configured explicitly (if any)."""
    if not settings.api_keys:
        return keys
    logger.info(
        "also accepting %d static inference key(s) from --api-key / %s",
        len(settings.api_keys),
        ENV_API_KEYS,
    )
    return AnyKeyVerifier(StaticKeyVerifier(settings.api_keys), keys)


async def serve(
    settings: ServerSettings,
    sockets: Mapping[str, socket.socket],
    db: Database,
    controlplane: ASGIApp | None = None,
) -> None:
    """Start the engines, serve each surface on its socket until SIGTERM/SIGINT, then drain
    and stop. `sockets` has a "serverless" and/or a "controlplane" entry."""
    transport = make_transport()
    engines = build_engines(settings.models, transport)
    database_keys = DatabaseKeyVerifier(db)
    limit_settings = LimitSettings.from_env()
    limiter = limit_settings.limiter()
    metering = database_metering(db, MeteringSettings.from_env())
    registry = ModelRegistry(engines, db if "serverless" in sockets else None, transport)
    try:
        await asyncio.gather(*(engine.start() for engine in engines.values()))
        surfaces: list[tuple[str, ASGIApp, socket.socket]] = []
        if "serverless" in sockets:
            verifier = _key_verifier(settings, database_keys)
            app = ServerlessApp(
                registry.engines,
                verifier,
                __version__,
                registry.metrics,
                metering,
                limiter=limiter,
                limit_settings=limit_settings,
            )
            metering.start()
            registry.subscribe(app.set_engines)
            await registry.start()
            surfaces.append(("serverless inference API", app, sockets["serverless"]))
        if "controlplane" in sockets and controlplane is not None:
            surfaces.append(("control plane", controlplane, sockets["controlplane"]))
            share_gateway_metrics(
                controlplane, registry.metrics if "serverless" in sockets else None
            )
        servers = [(_uvicorn(app, settings), name, sock) for name, app, sock in surfaces]
        _handle_signals([server for server, _, _ in servers])
        for _, name, sock in servers:
            logger.info("%s listening on %s", name, _url(settings.host, sock))
        for engine in engines.values():
            logger.info("model %s (%s)", engine.info.id, type(engine).__name__)
        await asyncio.gather(*(server.serve(sockets=[sock]) for server, _, sock in servers))
        logger.info("stopped")
    finally:
        await metering.aclose()  # writes every request record left
        await registry.aclose()
        await database_keys.aclose()
        await limiter.aclose()
        if isinstance(controlplane, ControlPlaneApp):
            await controlplane.context.aclose()  # its Redis connections (sign-in limits)
        await _stop_engines(engines)
        await transport.aclose()


def _handle_signals(servers: Sequence[uvicorn.Server]) -> None:
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        if any(server.should_exit for server in servers):
            for server in servers:
                server.force_exit = True
        else:
            logger.info("%s received: finishing in-flight requests", sig.name)
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop, sig)


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        asyncio.run(main)
        return
    uvloop.run(main)


def _bind_surfaces(settings: ServerSettings) -> dict[str, socket.socket]:
    sockets: dict[str, socket.socket] = {}
    try:
        if settings.role in ("all", "gateway"):
            sockets["serverless"] = bind(settings.host, settings.serverless_port)
        if settings.role in ("all", "controlplane"):
            sockets["controlplane"] = bind(settings.host, settings.controlplane_port)
    except SettingsError:
        for sock in sockets.values():
            sock.close()
        raise
    return sockets


def run(settings: ServerSettings) -> int:
    """Run the surfaces of `settings.role` in this process; returns the exit code.

    The database is migrated first; on an empty one the first admin is created."""
    configure_logging()
    sockets = _bind_surfaces(settings)
    try:
        try:
            db = prepare_database(settings.database_url)
        except DatabaseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        try:
            static_models = tuple(model.id for model in settings.models)
            controlplane = (
                build_controlplane(db, static_models=static_models)
                if "controlplane" in sockets
                else None
            )
            _run(serve(settings, sockets, db, controlplane))
        except EngineStartError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
            return 0
        finally:
            db.dispose()
    finally:
        for sock in sockets.values():
            sock.close()
    return 0
