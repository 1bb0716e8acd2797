"""Times on the command line: durations (`90s`, `15m`, `1h`, `7d`, `2w`) and RFC 3339 moments
(`2026-01-31T12:00:00Z`), turned into aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tensormesh_cli.errors import InputError

__all__ = ["parse_duration", "parse_moment", "time_range", "utc_now"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def parse_duration(text: str, option: str) -> timedelta:
    """`90s`, `15m`, `1h`, `7d`, `2w` as a positive timedelta; an InputError otherwise."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise InputError(
            f"{option} {text!r} is not a duration: use a number and s, m, h, d or w (e.g. 15m, 24h)"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_moment(text: str, option: str, *, now: datetime | None = None) -> datetime:
    """An RFC 3339 time (a naive one is taken as UTC), or a duration meaning that long ago."""
    if _DURATION.match(text):
        return (now or utc_now()) - parse_duration(text, option)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a time: use RFC 3339 (2026-01-31T12:00:00Z) "
            "or a duration ago (15m, 24h)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def time_range(
    window: str, start: str | None, end: str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """(start, end) from `--start`/`--end` when given, else the `--window` before `--end`/now."""
    now = now or utc_now()
    end_time = parse_moment(end, "--end", now=now) if end else now
    if start:
        start_time = parse_moment(start, "--start", now=now)
    else:
        start_time = end_time - parse_duration(window, "--window")
    if start_time >= end_time:
        raise InputError("the start of the time range must be before its end")
    return start_time, end_time
