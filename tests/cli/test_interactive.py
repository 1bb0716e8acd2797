"""The interactive chat, driven through a pseudo-terminal like a person at a keyboard."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import clean_environ
from tests.conftest import EMBEDDED_MODEL
from tests.support.servers import RunningServer

pytestmark = pytest.mark.slow

USAGE = re.compile(r"usage: (\d+) prompt \+ (\d+) completion")


class Terminal:
    """A process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.seen = ""
        self.position = 0  # where the next read_until starts looking

    def read_until(self, pattern: re.Pattern[str], timeout: float = 60.0) -> re.Match[str]:
        """Read output until `pattern` matches the text read since the last match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = pattern.search(self.seen, self.position)
            if match:
                self.position = match.end()
                return match
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the process closed the terminal
                    break
        raise AssertionError(f"no {pattern.pattern!r} in output:\n{self.seen[self.position :]}")

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def close(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            os.close(self.master)


def open_chat(server: RunningServer, tmp_path: Path, *options: str) -> Terminal:
    """`tm infer chat --model ... OPTIONS` on a terminal of its own."""
    env = clean_environ(
        tmp_path / "config",
        TENSORMESH_SERVERLESS_BASE_URL=server.serverless_url,
        TENSORMESH_INFERENCE_API_KEY=server.api_key,
        TERM="dumb",
    )
    args = [sys.executable, "-m", "tensormesh_cli", "infer", "chat", "--model", EMBEDDED_MODEL]
    return Terminal([*args, *options], env)


@pytest.fixture
def terminal(server: RunningServer, tmp_path: Path) -> Terminal:
    return open_chat(server, tmp_path, "--max-tokens", "16", "--temperature", "0", "--show-usage")


def test_interactive_chat_streams_and_keeps_the_conversation(terminal: Terminal) -> None:
    terminal.read_until(re.compile(r"Chatting with .*\n.*> ", re.S))
    terminal.type("What is the capital of France?")
    first = terminal.read_until(USAGE)
    terminal.read_until(re.compile(r"> "))
    terminal.type("And of Italy?")
    second = terminal.read_until(USAGE)
    terminal.read_until(re.compile(r"> "))
    # The second request carried the first question and answer: its prompt is longer than both.
    first_prompt, first_reply = int(first[1]), int(first[2])
    assert int(second[1]) > first_prompt + first_reply
    terminal.type("/exit")
    assert terminal.close() == 0
    reply = terminal.seen.split("What is the capital of France?", 1)[1].split("usage:", 1)[0]
    assert reply.strip()
    assert "Traceback" not in terminal.seen


def test_interactive_chat_ends_on_ctrl_d(terminal: Terminal) -> None:
    terminal.read_until(re.compile(r"> "))
    os.write(terminal.master, b"\x04")
    assert terminal.close() == 0


def test_ctrl_c_stops_a_reply_and_the_chat_goes_on(server: RunningServer, tmp_path: Path) -> None:
    terminal = open_chat(server, tmp_path, "--max-tokens", "1000")
    terminal.read_until(re.compile(r"> "))
    terminal.type("Tell me a very long story about a dragon.")
    terminal.read_until(re.compile(r"dragon\.\s*\r?\n\S"))  # the reply has started
    terminal.process.send_signal(signal.SIGINT)
    terminal.read_until(re.compile(r"\(reply stopped\).*> ", re.S))
    terminal.type("/exit")
    assert terminal.close() == 0
    assert "Traceback" not in terminal.seen
