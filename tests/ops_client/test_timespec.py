"""Durations and times given on the command line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tensormesh_cli.errors import InputError
from tensormesh_cli.timespec import parse_duration, parse_moment, time_range

NOW = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("1.5h", 5400), ("7d", 604800), ("2W", 1209600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text, "--window") == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "10", "0m", "-5m", "1y", "soon"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InputError, match="--window"):
        parse_duration(text, "--window")


def test_moments() -> None:
    assert parse_moment("2026-01-31T10:00:00Z", "--since") == NOW - timedelta(hours=2)
    assert parse_moment("2026-01-31T13:00:00+01:00", "--since") == NOW
    assert parse_moment("2026-01-31T12:00:00", "--since") == NOW  # naive: UTC
    assert parse_moment("30m", "--since", now=NOW) == NOW - timedelta(minutes=30)
    with pytest.raises(InputError, match="--since 'noon' is not a time"):
        parse_moment("noon", "--since")


def test_time_range() -> None:
    assert time_range("1h", None, None, now=NOW) == (NOW - timedelta(hours=1), NOW)
    end = "2026-01-30T00:00:00Z"
    start, stop = time_range("1d", None, end, now=NOW)
    assert (stop - start, stop) == (timedelta(days=1), datetime(2026, 1, 30, tzinfo=timezone.utc))
    assert time_range("1h", "2026-01-31T00:00:00Z", None, now=NOW)[0].hour == 0
    with pytest.raises(InputError, match="before its end"):
        time_range("1h", "2026-02-01T00:00:00Z", None, now=NOW)
