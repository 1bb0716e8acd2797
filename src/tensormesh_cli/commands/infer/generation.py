"""Run one generation request (chat, completions, responses) and print it in the chosen format."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from tensormesh_cli.render import View, emit, emit_stream_item, note, to_plain, write_deltas
from tensormesh_cli.state import CliState


def assemble_request(
    core: Mapping[str, Any],
    fields: Mapping[str, Any],
    extra: Mapping[str, Any],
    *,
    include_usage: bool = False,
) -> dict[str, Any]:
    """The keyword arguments for `create`: `core` (model and input), the flags the user set, and
    the request object's other fields passed through as `extra_body` (a flag wins over them).

    `include_usage` (chat and completions streams) asks for usage in the last chunk unless the
    request object brings its own `stream_options`.
    """
    passthrough = {key: value for key, value in extra.items() if key not in fields}
    request = {**core, **fields}
    if include_usage:
        request["stream_options"] = passthrough.pop("stream_options", None) or {
            "include_usage": True
        }
    if passthrough:
        request["extra_body"] = passthrough
    return request


def call(resource: Any, method: str, output: str, **kwargs: Any) -> tuple[Any, str | None]:
    """`resource.method(**kwargs)`; with --output raw, also the response body exactly as sent."""
    if output == "raw":
        raw = getattr(resource.with_raw_response, method)(**kwargs)
        return raw.parse(), raw.text
    return getattr(resource, method)(**kwargs), None


def run_generation(
    state: CliState,
    resource: Any,
    request: Mapping[str, Any],
    *,
    stream: bool,
    show_usage: bool,
    text_of: Callable[[Any], str],
) -> None:
    """Send `request` with `resource.create`, print the result (or the stream as it arrives)."""
    output = state.output
    if not stream:
        result, raw = call(resource, "create", output, **request)
        emit(View(data=result, text=text_of(result), raw=raw), output)
        usage = getattr(result, "usage", None)
    elif output == "raw":
        with resource.with_streaming_response.create(**request, stream=True) as response:
            for line in response.iter_lines():
                click.echo(line)
        usage = None
    else:
        with resource.create(**request, stream=True) as events:
            if output in ("json", "yaml"):
                for event in events:
                    emit_stream_item(event, output)
            else:
                write_deltas(events.text_deltas())
            usage = events.usage
    if show_usage:
        note(format_usage(usage))


def format_usage(usage: Any) -> str:
    """`usage: 12 prompt + 30 completion = 42 tokens (4 cached)` (chat or responses names)."""
    data = to_plain(usage)
    if not isinstance(data, dict):
        return "usage: not reported by the server"
    prompt = _first(data, "prompt_tokens", "input_tokens")
    completion = _first(data, "completion_tokens", "output_tokens")
    total = data.get("total_tokens")
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    details = data.get("prompt_tokens_details") or data.get("input_tokens_details") or {}
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    line = f"usage: {prompt} prompt + {completion} completion = {total} tokens"
    return f"{line} ({cached} cached)" if cached else line


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None
