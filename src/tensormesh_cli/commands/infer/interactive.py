"""The interactive chat of `tm infer chat` on a terminal: streamed replies, kept conversation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import click

from tensormesh_cli.commands.infer.generation import format_usage
from tensormesh_cli.render import note, write_deltas
from tensormesh_cli.state import CliState

HELP = "/exit or Ctrl-D leaves, Ctrl-C stops a reply, /reset forgets the conversation"
PROMPT = "> "


def run_interactive(
    state: CliState,
    model: str,
    *,
    system: str | None,
    fields: dict[str, Any],
    show_usage: bool = False,
) -> None:
    """Read a line, stream the reply, repeat; the whole conversation is sent every turn."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())

    start: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages = list(start)
    note(f"Chatting with {model} ({HELP}).")
    while True:
        try:
            line = input(PROMPT).strip()
        except EOFError:
            click.echo()
            return
        except KeyboardInterrupt:
            click.echo()
            note(f"({HELP})")
            continue
        if line in ("/exit", "/quit"):
            return
        if line == "/reset":
            messages = list(start)
            note("(conversation cleared)")
            continue
        if line in ("/help", "/?"):
            note(HELP)
            continue
        if not line:
            continue
        messages.append({"role": "user", "content": line})
        reply = _stream_reply(state, model, messages, fields, show_usage=show_usage)
        if reply is None:
            messages.pop()
        else:
            messages.append({"role": "assistant", "content": reply})


def _stream_reply(
    state: CliState,
    model: str,
    messages: list[dict[str, Any]],
    fields: dict[str, Any],
    *,
    show_usage: bool,
) -> str | None:
    """Stream one reply to stdout; Ctrl-C stops it (the part shown is kept).

    Returns None when nothing came back: the request failed (the error is shown and the session
    goes on; authentication errors end it) or was stopped before the first word.
    """
    import tensormesh
    from tensormesh_cli.error_messages import describe

    completions = state.client().inference.serverless.chat.completions
    parts: list[str] = []
    try:
        with completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **fields,
        ) as events:
            write_deltas(_collect(events.text_deltas(), parts))
        if show_usage:
            note(format_usage(events.usage))
    except KeyboardInterrupt:
        note("(reply stopped)")
        return "".join(parts) or None
    except tensormesh.AuthenticationError:
        raise
    except tensormesh.APIError as exc:
        describe(exc, state).show()
        return None
    return "".join(parts)


def _collect(deltas: Iterable[str], parts: list[str]) -> Iterator[str]:
    """Pass `deltas` through, remembering them (so a stopped reply keeps what was shown)."""
    for delta in deltas:
        parts.append(delta)
        yield delta
