"""Separate a leading `<think>…</think>` block from generated text, also when fed in pieces."""

from __future__ import annotations

__all__ = ["ThinkFilter", "split_think"]

OPEN = "<think>"
CLOSE = "</think>"


class ThinkFilter:
    """Feed text deltas; get back only the visible text. The inside of a leading think block
    (after optional whitespace) is kept in `reasoning`; `found` says whether there was one."""

    __slots__ = ("_buffer", "_state", "found", "reasoning")

    def __init__(self) -> None:
        self._state = "start"  # start -> think -> after -> text, or start -> text
        self._buffer = ""
        self.reasoning = ""
        self.found = False

    def feed(self, text: str) -> str:
        """The visible part of `text` that can be released now (possibly "")."""
        state = self._state
        if state == "text":
            return text
        if state == "after":  # drop whitespace between </think> and the answer
            self._buffer = (self._buffer + text).lstrip()
            return self._release() if self._buffer else ""
        self._buffer += text
        if state == "start":
            head = self._buffer.lstrip()
            if head.startswith(OPEN):
                self._state, self.found = "think", True
                self._buffer = head[len(OPEN) :]
            elif head and not OPEN.startswith(head):
                return self._release()
            else:
                return ""  # may still become "<think>"
        return self._think()

    def _think(self) -> str:
        end = self._buffer.find(CLOSE)
        if end < 0:  # keep a possible start of "</think>" for the next piece
            cut = len(self._buffer) - _partial_suffix(self._buffer, CLOSE)
            self.reasoning += self._buffer[:cut]
            self._buffer = self._buffer[cut:]
            return ""
        self.reasoning += self._buffer[:end]
        self._buffer = self._buffer[end + len(CLOSE) :].lstrip()
        self._state = "after"
        return self._release() if self._buffer else ""

    def _release(self) -> str:
        text, self._buffer, self._state = self._buffer, "", "text"
        return text

    def finish(self) -> str:
        """Call at the end: release text held back (an unfinished `<thi…` is plain text)."""
        if self._state == "start":
            return self._release()
        if self._state == "think":  # never closed: all of it was reasoning
            self.reasoning += self._buffer
            self._buffer = ""
        return ""


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def split_think(content: str) -> tuple[str | None, str]:
    """(reasoning or None, visible content) of a complete text."""
    think = ThinkFilter()
    visible = think.feed(content) + think.finish()
    return (think.reasoning if think.found else None), visible
