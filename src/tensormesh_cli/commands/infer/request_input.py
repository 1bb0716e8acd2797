"""Read a request body from --json, --file or piped stdin, and build chat messages from it."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from tensormesh_cli.errors import InputError


def stdin_is_terminal() -> bool:
    return bool(sys.stdin and sys.stdin.isatty())


def read_payload(json_text: str | None, file: str | None, *, use_stdin: bool) -> Any:
    """The user's input: parsed JSON from --json or --file (`-` = stdin), else piped stdin.

    Piped stdin that starts with `{` or `[` is JSON; any other piped text is returned as a string
    (a prompt). None when there is no input at all.
    """
    if json_text is not None and file is not None:
        raise InputError("give either --json or --file, not both")
    if json_text is not None:
        return parse_json(json_text, "--json")
    if file is not None:
        return parse_json(_read_file(file), f"--file {file}")
    if not use_stdin or stdin_is_terminal():
        return None
    text = sys.stdin.read()
    if not text.strip():
        return None
    if text.lstrip().startswith(("{", "[")):
        return parse_json(text, "stdin")
    return text.rstrip("\n")


def _read_file(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read --file {file}: {exc}") from None


def parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON in {where}: {exc}") from None


@dataclass
class RequestBody:
    """A request split into what the CLI handles itself and the fields it passes through."""

    model: str | None = None
    stream: bool | None = None
    primary: Any = None  # messages (chat), prompt (completions) or input (responses)
    extra: dict[str, Any] = field(default_factory=dict)


def split_request(payload: Any, primary_key: str) -> RequestBody:
    """Split a full request object ({model, messages, ...}) or a bare primary value."""
    if not isinstance(payload, dict):
        return RequestBody(primary=payload)
    extra = dict(payload)
    model = extra.pop("model", None)
    stream = extra.pop("stream", None)
    if model is not None and not isinstance(model, str):
        raise InputError("`model` in the request must be a string")
    if stream is not None and not isinstance(stream, bool):
        raise InputError("`stream` in the request must be true or false")
    if primary_key not in extra:
        raise InputError(f"the request object has no `{primary_key}`")
    primary = extra.pop(primary_key)
    if primary_key == "messages" and not isinstance(primary, list):
        raise InputError("`messages` must be a JSON array of {role, content} objects")
    return RequestBody(model=model, stream=stream, primary=primary, extra=extra)


def chat_messages(primary: Any, *, prompt: str | None, system: str | None) -> list[Any]:
    """The messages to send: the given ones (a list, or piped text as a user turn), with --system
    put first and PROMPT appended as the last user turn."""
    if primary is None:
        messages: list[Any] = []
    elif isinstance(primary, str):
        messages = [{"role": "user", "content": primary}]
    elif isinstance(primary, list):
        messages = list(primary)
    else:
        raise InputError("messages must be a JSON array of {role, content} objects")
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    if prompt is not None:
        messages.append({"role": "user", "content": prompt})
    if not any(isinstance(m, dict) and m.get("role") != "system" for m in messages):
        raise InputError("nothing to send: give a PROMPT, --json, --file or pipe input to stdin")
    return messages
