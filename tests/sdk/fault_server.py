"""A loopback HTTP/1.1 server that misbehaves at the byte level, for fault tests.

Each connection serves one request (`Connection: close`); the handler chosen by path writes
raw bytes to the socket, so it can reset, stall or cut the connection wherever it likes.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Behaviour = Callable[["Exchange"], None]


@dataclass
class Exchange:
    """One received request and the socket to answer it on."""

    sock: socket.socket
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    attempt: int  # 1 for the first request to this path, 2 for the next, ...
    stop: threading.Event

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self, status: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def start_chunked(self, content_type: str = "text/event-stream") -> None:
        self.send(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
            + f"Content-Type: {content_type}\r\n\r\n".encode()
        )

    def chunk(self, data: bytes) -> None:
        self.send(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def reset(self) -> None:
        """Close with a TCP RST instead of a clean FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


@dataclass
class FaultServer:
    """Serve `routes` (path -> behaviour) on 127.0.0.1; record (method, path) of each request."""

    routes: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def count(self, path: str) -> int:
        return sum(1 for _, p in self.requests if p == path)

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError), sock:
            request = _read_request(sock)
            if request is None:
                return
            method, path, headers, body = request
            with self._lock:
                self.requests.append((method, path))
                attempt = self.count(path)
            behaviour = self.routes.get(path, _not_found)
            behaviour(Exchange(sock, method, path, headers, body, attempt, self.stop))

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes up the blocked accept()
        self._listener.close()
        self._thread.join(timeout=5)


def _not_found(exchange: Exchange) -> None:
    exchange.respond("404 Not Found", b'{"error": {"message": "no such route"}}')


def _read_request(sock: socket.socket) -> tuple[str, str, dict[str, str], bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return method, path.split("?", 1)[0], headers, body


@contextlib.contextmanager
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer()
    try:
        yield server
    finally:
        server.close()
