"""A pausable loopback TCP proxy for fault tests: put it between a server and PostgreSQL (or any
TCP service) and cut the service off on demand.

    with TcpProxy(5432) as proxy:
        url = proxy.url_for("postgresql+psycopg://postgres@127.0.0.1:5432/db")
        ...
        with proxy.outage():  # every open connection is reset, new ones are refused
            ...

The proxy runs its own event loop in a daemon thread; its methods are called from any thread
(they wait for the loop to act, so when `pause()` returns no byte goes through any more).
`pause(blackhole=True)` accepts new connections and never answers instead of refusing them
(what a network partition looks like). `lose_commit_reply(marker)` drops the server's answer
to the next COMMIT of a PostgreSQL transaction whose statements contain `marker` and resets
that connection: the transaction is committed but the client never learns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

T = TypeVar("T")

CHUNK = 64 * 1024
COMMIT_COMPLETE = b"C\x00\x00\x00\x0bCOMMIT\x00"
"""PostgreSQL's CommandComplete message for a COMMIT."""
CALL_TIMEOUT = 10.0


@dataclass(eq=False)
class _Link:
    """One client connection and, once connected, its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    marked: bool = False  # sent the statement `lose_commit_reply` waits for
    tails: dict[str, bytes] = field(default_factory=dict)  # last bytes seen, per direction


def _reset(writer: asyncio.StreamWriter | None) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed or restarted server would."""
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _seen(link: _Link, direction: str, data: bytes, needle: bytes) -> bool:
    """Whether `needle` occurs in this direction's stream, even split across two reads."""
    window = link.tails.get(direction, b"") + data
    link.tails[direction] = window[-len(needle) :]
    return needle in window


class TcpProxy:
    """Forwards 127.0.0.1:`port` (a free port) to `target_host`:`target_port`."""

    def __init__(self, target_port: int = 5432, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0
        """Connections accepted while forwarding."""
        self.refused = 0
        """Connections refused (or held) during an outage."""
        self.dropped = 0
        """Open connections cut by `pause()`."""
        self.commits_lost = 0
        """COMMIT answers dropped by `lose_commit_reply`."""
        self._paused = False
        self._blackhole = False
        self._commit_marker: bytes | None = None
        self._links: set[_Link] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )

    # -- life cycle (any thread) ------------------------------------------------------------------

    def start(self) -> TcpProxy:
        """Listen on a free loopback port (`self.port`)."""
        self._thread.start()
        try:
            self._call(self._listen())
        except BaseException:
            self._stop_thread()
            raise
        return self

    def close(self) -> None:
        """Stop listening, reset every connection, stop the thread."""
        if not self.running:
            return
        try:
            self._call(self._shutdown())
        finally:
            self._stop_thread()

    def _stop_thread(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def url_for(self, database_url: str) -> str:
        """`database_url` (a SQLAlchemy URL) pointed at the proxy instead of the target."""
        proxied = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)

    # -- faults (any thread) ----------------------------------------------------------------------

    def pause(self, *, blackhole: bool = False) -> None:
        """Cut every open connection (RST); refuse new ones (RST at once), or with `blackhole`
        accept them and never answer, until `resume()`."""
        self._call(self._pause(blackhole))

    def resume(self) -> None:
        """Forward new connections again (held blackhole connections are reset)."""
        self._call(self._resume())

    @property
    def running(self) -> bool:
        """True from `start()` until `close()`."""
        return self._thread.is_alive()

    @property
    def paused(self) -> bool:
        """True during an outage."""
        return self._paused

    @contextlib.contextmanager
    def outage(self, *, blackhole: bool = False) -> Iterator[None]:
        """`pause()` for the duration of the block, then `resume()`."""
        self.pause(blackhole=blackhole)
        try:
            yield
        finally:
            self.resume()

    def lose_commit_reply(self, marker: bytes) -> None:
        """Drop the answer to the next COMMIT on a connection that sent `marker` (for example
        b"INSERT INTO request_records"), then reset that connection."""
        self._call(self._arm(marker))

    # -- the event loop's side ------------------------------------------------------------------

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(CALL_TIMEOUT)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._pause(blackhole=False)
        await self._resume()
        if self._tasks:  # the cut connections end on their own; cancel what lingers
            _, lingering = await asyncio.wait(set(self._tasks), timeout=1.0)
            for task in lingering:
                task.cancel()
            await asyncio.gather(*lingering, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _pause(self, blackhole: bool) -> None:
        self._paused, self._blackhole = True, blackhole
        for link in list(self._links):
            self.dropped += 1
            self._cut(link)

    async def _resume(self) -> None:
        self._paused = False
        for writer in list(self._held):
            _reset(writer)
        self._held.clear()

    async def _arm(self, marker: bytes) -> None:
        self._commit_marker = marker

    def _cut(self, link: _Link) -> None:
        self._links.discard(link)
        _reset(link.client)
        _reset(link.upstream)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:  # close(): end quietly (asyncio reports a cancelled
            _reset(writer)  # connection callback as an error)
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._paused:
            self.refused += 1
            if self._blackhole:
                self._held.add(writer)  # reset on resume() or close()
            else:
                _reset(writer)
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            up_reader, link.upstream = await asyncio.open_connection(*self.target)
        except OSError:
            self._cut(link)
            return
        if link not in self._links:  # paused while connecting
            _reset(link.upstream)
            return
        self.accepted += 1
        try:
            await asyncio.gather(
                self._pipe(link, reader, link.upstream, "up"),
                self._pipe(link, up_reader, writer, "down"),
            )
        finally:
            self._cut(link)

    async def _pipe(
        self,
        link: _Link,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        direction: str,
    ) -> None:
        try:
            while link in self._links:
                data = await reader.read(CHUNK)
                if not data or link not in self._links:
                    break
                if self._commit_marker is not None and self._loses(link, direction, data):
                    self._commit_marker = None
                    self.commits_lost += 1
                    self._cut(link)
                    return
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        if link in self._links:  # one side ended: end the other one too
            self._cut(link)

    def _loses(self, link: _Link, direction: str, data: bytes) -> bool:
        assert self._commit_marker is not None
        if direction == "up":
            link.marked = link.marked or _seen(link, "up", data, self._commit_marker)
            return False
        return link.marked and _seen(link, "down", data, COMMIT_COMPLETE)
