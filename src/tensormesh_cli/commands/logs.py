"""`tm logs MODEL_ID [-f]`: a deployment's log lines; `-f` keeps polling and prints only the
lines not shown yet (Ctrl-C stops it)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from tensormesh_cli.control_plane_session import ControlPlaneSession
from tensormesh_cli.render import View, emit, emit_stream_item
from tensormesh_cli.state import CliState, get_state
from tensormesh_cli.timespec import parse_moment

if TYPE_CHECKING:
    from tensormesh.resources.control_plane import ControlPlane
    from tensormesh.types.operations import LogLine

# Replaced by tests to run the follow loop without waiting.
sleep: Callable[[float], None] = time.sleep


class NewLines:
    """Tells the lines not printed yet from those already printed.

    Remembers the newest timestamp printed (`cursor`) and how many times each message was
    printed at exactly that timestamp, so a poll from `cursor` on repeats nothing.
    """

    def __init__(self) -> None:
        self.cursor: datetime | None = None
        self._at_cursor: Counter[str] = Counter()

    def take(self, lines: Iterable[LogLine]) -> list[LogLine]:
        """The lines of a reply (any order) that are new, oldest first."""
        fresh: list[LogLine] = []
        repeated: Counter[str] = Counter()
        for line in sorted(lines, key=lambda line: line.timestamp):
            if self.cursor is not None and line.timestamp < self.cursor:
                continue
            if self.cursor is not None and line.timestamp == self.cursor:
                repeated[line.message] += 1
                if repeated[line.message] <= self._at_cursor[line.message]:
                    continue
            else:
                self.cursor, self._at_cursor, repeated = line.timestamp, Counter(), Counter()
                repeated[line.message] += 1
            self._at_cursor[line.message] += 1
            fresh.append(line)
        return fresh


def line_text(line: LogLine) -> str:
    """`2026-01-31T12:00:00.123Z  message`."""
    moment = line.timestamp.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return f"{moment.replace('+00:00', 'Z')}  {line.message}"


def _print_lines(state: CliState, lines: list[LogLine]) -> None:
    for line in lines:
        if state.output in ("text", "table"):
            click.echo(line_text(line))
        else:
            emit_stream_item(line, state.output)


@click.command()
@click.argument("model_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option(
    "--since", metavar="TIME", help="Lines from this time on: RFC 3339, or a duration ago (15m)."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="At most this many lines (the newest ones) per request.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between polls with --follow.",
)
def logs(model_id: str, follow: bool, since: str | None, limit: int, interval: float) -> None:
    """Print a deployment's log lines (the engine's and the gateway's), oldest first."""
    import tensormesh
    from tensormesh.types.operations import LogDirection

    state = get_state()
    session = ControlPlaneSession.for_state(state)
    start = parse_moment(since, "--since") if since else None
    tracker = NewLines()

    def fetch(*, unreachable_ok: bool) -> list[LogLine] | None:
        """The lines after those shown (the newest ones at first); None when the control
        plane cannot be reached and `unreachable_ok`."""
        query: dict[str, Any] = {"limit": limit}
        if tracker.cursor is None:  # the newest lines (since --since)
            query.update(start_time=start, direction=LogDirection.BACKWARD)
        else:  # the lines from the newest one shown on
            query.update(start_time=tracker.cursor, direction=LogDirection.FORWARD)

        def read(cp: ControlPlane) -> list[LogLine] | None:
            try:
                return cp.observability.deployments.logs.list(model_id, **query).logs
            except tensormesh.APIConnectionError:
                if unreachable_ok:
                    return None
                raise

        return session.call(read)

    first = tracker.take(fetch(unreachable_ok=False) or [])
    if not follow:
        if state.output in ("text", "table"):
            _print_lines(state, first)
            if not first:
                state.say(f"(no log lines for {model_id})")
        else:
            emit(View(data={"logs": first}), state.output)
        return
    _print_lines(state, first)
    reachable = True
    while True:  # until Ctrl-C
        batch = fetch(unreachable_ok=True)
        if batch is None:  # e.g. the server restarts: keep polling
            if reachable:
                state.say(f"Cannot reach {session.base}; retrying every {interval:g} s.")
            reachable = False
            sleep(interval)
            continue
        if not reachable:
            state.say("Reconnected.")
            reachable = True
        fresh = tracker.take(batch)
        _print_lines(state, fresh)
        if not fresh or len(batch) < limit:  # a full page of new lines: read on at once
            sleep(interval)


__all__ = ["NewLines", "logs"]
