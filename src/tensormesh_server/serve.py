"""Run the serverless surface under uvicorn (httptools, uvloop) with a graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import signal
import socket
import sys
from collections.abc import Coroutine, Generator
from typing import Any

import uvicorn

from tensormesh import __version__

from .app import ServerlessApp
from .auth import StaticKeyVerifier
from .engines import Engine, EngineStartError, build_engines
from .engines.upstream import make_transport
from .models_config import SettingsError
from .settings import ServerSettings

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


async def serve(settings: ServerSettings, sock: socket.socket) -> None:
    """Start the engines, serve until SIGTERM/SIGINT, then drain and stop."""
    transport = make_transport()
    engines = build_engines(settings.models, transport)
    try:
        await asyncio.gather(*(engine.start() for engine in engines.values()))
        app = ServerlessApp(engines, StaticKeyVerifier(settings.api_keys), __version__)
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
        server = _Server(config)
        _handle_signals(server)
        logger.info("serverless inference API listening on %s", _url(settings.host, sock))
        for engine in engines.values():
            logger.info("model %s (%s)", engine.info.id, type(engine).__name__)
        if settings.role == "all":
            logger.info(
                "control plane: arrives in a later release (port %d reserved)",
                settings.controlplane_port,
            )
        await server.serve(sockets=[sock])
        logger.info("stopped")
    finally:
        await _stop_engines(engines)
        await transport.aclose()


def _handle_signals(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        if server.should_exit:
            server.force_exit = True
        else:
            logger.info("%s received: finishing in-flight requests", sig.name)
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


def run(settings: ServerSettings) -> int:
    """Run the serverless surface in this process; returns the exit code."""
    configure_logging()
    sock = bind(settings.host, settings.serverless_port)
    if settings.generated_api_key:
        print(
            "No API key configured; generated inference API key (shown once): "
            + settings.api_keys[0],
            file=sys.stderr,
            flush=True,
        )
    try:
        _run(serve(settings, sock))
    except EngineStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        return 0
    finally:
        sock.close()
    return 0
