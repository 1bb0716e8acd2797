"""An incremental Server-Sent Events decoder following the WHATWG rules (bytes in, events out)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["SSEDecoder", "ServerSentEvent", "iter_sse"]


class ServerSentEvent:
    """One dispatched event: `event` type ("message" by default), `data`, `id`, `retry`."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self, data: str, event: str = "message", id: str = "", retry: int | None = None
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        return f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (self.data, self.event, self.id, self.retry) == (
            other.data,
            other.event,
            other.id,
            other.retry,
        )


class SSEDecoder:
    """Feed it raw bytes in chunks of any size; it returns the events completed so far.

    Lines end with CR, LF or CRLF (a CRLF split between chunks counts once); a leading UTF-8
    BOM is dropped; `data` lines join with LF; comments and unknown fields are ignored; an
    event is dispatched at an empty line, and only if it has data. Whatever is left when the
    stream ends is an incomplete event: `feed` never returns it, and `ended_mid_event` says so.
    """

    __slots__ = ("_data", "_event", "_partial", "_retry", "_skip_lf", "_started", "last_event_id")

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # bytes of the current unfinished line
        self._skip_lf = False  # the previous chunk ended with CR: a leading LF belongs to it
        self._started = False  # a BOM is only dropped at the very start
        self._data: list[str] = []
        self._event = ""
        self._retry: int | None = None
        self.last_event_id = ""

    @property
    def ended_mid_event(self) -> bool:
        """True when bytes or fields of an undispatched event are pending."""
        return bool(self._partial or self._data or self._event or self._retry is not None)

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one chunk; return the events it completes (often none or one)."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._skip_lf = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(b"\n")
        if end < 0:
            if chunk:
                self._partial.append(chunk)
            return []
        if self._partial:
            self._partial.append(chunk[:end])
            block = b"".join(self._partial)
            self._partial.clear()
        else:
            block = chunk[:end]
        if end + 1 < len(chunk):
            self._partial.append(chunk[end + 1 :])
        text = block.decode("utf-8", "replace")
        if not self._started:
            self._started = True
            if text[:1] == "\ufeff":
                text = text[1:]
        return self._lines(text.split("\n"))

    def _lines(self, lines: list[str]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    event = self._event or "message"
                    events.append(
                        ServerSentEvent("\n".join(data), event, self.last_event_id, self._retry)
                    )
                    data = self._data = []
                self._event = ""
                self._retry = None
            elif line[:6] == "data: ":
                data.append(line[6:])
            elif line[0] != ":":
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)


def iter_sse(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Every event in a stream of byte chunks."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
