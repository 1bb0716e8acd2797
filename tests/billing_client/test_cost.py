"""`tm cost`: the numbers (against known usage and prices), the ranges, the bar chart, the
progress indicator, and `--output json`."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from tensormesh.types import Money
from tensormesh.types.billing import ServerlessPricing, UsageRow
from tensormesh_cli.commands import cost as cost_command
from tensormesh_cli.commands.cost import bar, bar_chart, month_range, report_range
from tensormesh_cli.cost_report import build_report, price_table, time_slices
from tensormesh_cli.errors import InputError

from .conftest import Recorder, Tm

UTC = timezone.utc
PRICES = [
    {
        "id": "p-a",
        "model": "model-a",
        "inputTokenPrice": {"units": "0", "nanos": 100_000_000},
        "outputTokenPrice": {"units": "0", "nanos": 400_000_000},
        "cachedTokenPrice": {"units": "0", "nanos": 25_000_000},
        "isActive": True,
    },
    {  # an old, inactive price of the same model: not used
        "id": "p-a-old",
        "model": "model-a",
        "inputTokenPrice": {"units": "9"},
        "isActive": False,
    },
]
USAGE = [
    {
        "bucketStart": "2026-11-01T00:00:00Z",
        "modelId": "model-a",
        "inputTokens": "2000000",
        "outputTokens": "500000",
        "cachedTokens": "1000000",
        "requestCount": "10",
    },
    {
        "bucketStart": "2026-11-02T00:00:00Z",
        "modelId": "model-a",
        "inputTokens": "1000000",
        "outputTokens": "0",
        "cachedTokens": "0",
        "requestCount": "5",
    },
    {
        "bucketStart": "2026-11-02T00:00:00Z",
        "modelId": "model-b",
        "inputTokens": "100",
        "outputTokens": "100",
        "cachedTokens": "0",
        "requestCount": "1",
    },
]
# By hand, at 0.10 / 0.40 / 0.025 per 1M tokens:
#   Nov 1: 1M uncached * 0.10 + 1M cached * 0.025 + 0.5M out * 0.40 = 0.325; saving 1M * 0.075
#   Nov 2: 1M * 0.10 = 0.10
SPEND_A, SAVING_A = "0.425", "0.075"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def usage_server(
    rows: list[dict[str, Any]], prices: list[dict[str, Any]]
) -> Callable[[httpx2.Request], tuple[int, Any]]:
    """Serves `prices`, and the `rows` whose bucket starts within the asked [start, end)."""

    def route(request: httpx2.Request) -> tuple[int, Any]:
        if request.url.path == "/v1/billing/serverless-pricing":
            return 200, {"pricing": prices}
        assert request.url.path == "/v1/billing/serverless-usage/history"
        params = request.url.params
        assert params["bucket"] == "USAGE_BUCKET_DAY"
        start, end = parse_time(params["startTime"]), parse_time(params["endTime"])
        chosen = [row for row in rows if start <= parse_time(row["bucketStart"]) < end]
        return 200, {"rows": chosen}

    return route


def usage_rows() -> list[UsageRow]:
    return [UsageRow.model_validate(row) for row in USAGE]


def pricing() -> list[ServerlessPricing]:
    return [ServerlessPricing.model_validate(price) for price in PRICES]


def test_report_numbers_from_known_usage() -> None:
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    report = build_report(usage_rows(), pricing(), start, end)
    first, second = report.models
    assert first.model == "model-a"
    assert (first.requests, first.input_tokens, first.output_tokens, first.cached_tokens) == (
        15,
        3_000_000,
        500_000,
        1_000_000,
    )
    assert first.spend == Money.from_decimal(SPEND_A)
    assert first.cache_savings == Money.from_decimal(SAVING_A)
    assert second.model == "model-b"
    assert second.spend is None
    assert report.unpriced == ["model-b"]
    assert report.total.requests == 16
    assert report.total.input_tokens == 3_000_100
    assert report.total.spend == Money.from_decimal(SPEND_A)
    assert [(day.day, spend.to_decimal()) for day, spend in report.daily] == [
        (1, Decimal("0.325")),
        (2, Decimal("0.1")),
        (3, Decimal(0)),
    ]


def test_the_totals_are_the_sum_of_the_rows_charged_one_by_one() -> None:
    rows = [
        UsageRow(
            bucket_start=datetime(2026, 11, 1 + n % 3, tzinfo=UTC),
            model_id="model-a",
            input_tokens=1234 * n + 7,
            output_tokens=77 * n,
            cached_tokens=n,
            request_count=1,
        )
        for n in range(1, 50)
    ]
    prices = pricing()
    report = build_report(
        rows, prices, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    )
    expected = sum(
        prices[0]
        .charge(
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cached_tokens=row.cached_tokens,
        )
        .charge.to_nanos()
        for row in rows
    )
    assert report.total.spend is not None
    assert report.total.spend.to_nanos() == expected
    assert sum(spend.to_nanos() for _, spend in report.daily) == expected


def test_prices_in_several_currencies_are_refused() -> None:
    euro = ServerlessPricing.model_validate(
        {"model": "model-e", "inputTokenPrice": {"currencyCode": "EUR", "units": "1"}}
    )
    with pytest.raises(ValueError, match="several currencies"):
        build_report([], [*pricing(), euro], datetime(2026, 1, 1, tzinfo=UTC), datetime.now(UTC))


def test_price_table_prefers_the_active_entry() -> None:
    old, new = pricing()[1], pricing()[0]
    assert price_table([old, new])["model-a"].id == "p-a"
    assert price_table([new, old])["model-a"].id == "p-a"


def test_time_slices_cover_the_range_once() -> None:
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    slices = time_slices(start, end, cost_command.SLICE)
    assert len(slices) == 5
    assert slices[0][0] == start
    assert slices[-1][1] == end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(slices))
    assert time_slices(start, start, cost_command.SLICE) == []


def test_ranges() -> None:
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert report_range(None, None, None, None, now) == (
        datetime(2026, 10, 22, 12, tzinfo=UTC),
        now,
    )
    assert report_range("24h", None, None, None, now)[0] == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert month_range("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert report_range(None, None, "2026-11-01T00:00:00Z", None, now) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        now,
    )
    assert report_range(None, None, "2d", "1d", now)[0] == datetime(2026, 11, 19, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "month", "start", "end", "message"),
    [
        ("7d", "2026-01", None, None, "only one of"),
        ("7d", None, "1d", None, "only one of"),
        (None, "2026-13", None, None, "YYYY-MM"),
        (None, "26-01", None, None, "YYYY-MM"),
        (None, None, None, "1d", "--end needs --start"),
        (None, None, "1d", "2d", "before"),
        (None, None, "yesterday", None, "not a time"),
    ],
)
def test_bad_ranges_are_usage_errors(
    window: str | None, month: str | None, start: str | None, end: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        report_range(window, month, start, end, datetime(2026, 11, 21, tzinfo=UTC))


def test_bars_in_eighths() -> None:
    assert bar(0, 100) == ""
    assert bar(100, 100, width=4) == "████"
    assert bar(50, 100, width=4) == "██"
    assert bar(1, 16, width=1) == "▏"  # 0.5 eighth still shows a sliver
    assert bar(3, 16, width=2) == "▍"  # 3/16 of 2 cells = 3 eighths
    assert bar(5, 10, width=3) == "█▌"


def test_bar_chart_plain_and_coloured() -> None:
    daily = [
        (date(2026, 11, 1), Money.from_decimal("0.4")),
        (date(2026, 11, 2), Money.from_decimal("0.1")),
        (date(2026, 11, 3), Money.zero()),
    ]
    plain = bar_chart(daily, "USD", color=False)
    lines = plain.splitlines()
    assert lines[0] == "Daily spend (USD)"
    assert lines[1] == f"2026-11-01  {'█' * 40}  0.40"
    assert lines[2] == f"2026-11-02  {'█' * 10}{' ' * 30}  0.10"
    assert lines[3] == f"2026-11-03  {' ' * 40}  0.00"
    assert "\x1b[" not in plain
    coloured = bar_chart(daily, "USD", color=True)
    assert "\x1b[32m" in coloured
    assert click_unstyle(coloured) == plain


def test_long_ranges_are_charted_per_week() -> None:
    first = date(2026, 1, 1)  # a Thursday
    daily = [(first + timedelta(days=n), Money.from_nanos(n)) for n in range(100)]
    chart = bar_chart(daily, "USD", color=False).splitlines()
    assert chart[0] == "Weekly spend (USD)"
    weeks = chart[1:]
    assert weeks[0].startswith("2025-12-29  ")  # the Monday of the first week
    assert len(weeks) == 15
    totals = [Money.parse(line.split()[-1]).to_nanos() for line in weeks]
    assert sum(totals) == sum(range(100))
    assert totals[0] == 0 + 1 + 2 + 3  # Thursday to Sunday


def click_unstyle(text: str) -> str:
    import click

    return click.unstyle(text)


def test_tm_cost_text(make_tm: Callable[[Recorder], Tm]) -> None:
    recorder = Recorder(route=usage_server(USAGE, PRICES))
    result = make_tm(recorder)(
        "cost", "--start", "2026-11-01T00:00:00Z", "--end", "2026-11-04T00:00:00Z"
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Serverless cost from 2026-11-01 00:00 to 2026-11-04 00:00 UTC" in out
    table = {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines()
        if line.startswith(("model-", "TOTAL"))
    }
    assert table["model-a"] == ["15", "3,000,000", "500,000", "1,000,000", "0.425", "0.075"]
    assert table["model-b"] == ["1", "100", "100", "0", "n/a", "n/a"]
    assert table["TOTAL"] == ["16", "3,000,100", "500,100", "1,000,000", "0.425", "0.075"]
    assert "Daily spend (USD)" in out
    assert f"2026-11-01  {'█' * 40}  0.325" in out
    assert "2026-11-03" in out
    assert "\x1b[" not in out  # not a terminal: no colour
    assert "No price for: model-b" in result.stderr
    assert "Fetching" not in result.stderr  # no progress bar without a terminal


def test_tm_cost_json_has_the_same_numbers(make_tm: Callable[[Recorder], Tm]) -> None:
    recorder = Recorder(route=usage_server(USAGE, PRICES))
    result = make_tm(recorder)(
        "--output",
        "json",
        "cost",
        "--start",
        "2026-11-01T00:00:00Z",
        "--end",
        "2026-11-04T00:00:00Z",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["currency"] == "USD"
    assert data["start"] == "2026-11-01T00:00:00Z"
    model_a = data["models"][0]
    assert model_a == {
        "model": "model-a",
        "requests": 15,
        "input_tokens": 3_000_000,
        "output_tokens": 500_000,
        "cached_tokens": 1_000_000,
        "spend": "0.425",
        "cache_savings": "0.075",
    }
    assert Decimal(data["total"]["spend"]) == Decimal(SPEND_A)
    assert data["daily"] == [
        {"date": "2026-11-01", "spend": "0.325"},
        {"date": "2026-11-02", "spend": "0.10"},
        {"date": "2026-11-03", "spend": "0.00"},
    ]
    assert data["unpriced_models"] == ["model-b"]


def test_tm_cost_month_pages_through_the_month_once(make_tm: Callable[[Recorder], Tm]) -> None:
    rows = [
        {**USAGE[1], "bucketStart": f"2026-10-{day:02d}T00:00:00Z", "requestCount": str(day)}
        for day in range(1, 32)
    ]
    rows.append({**USAGE[1], "bucketStart": "2026-11-01T00:00:00Z"})  # outside the month
    recorder = Recorder(route=usage_server(rows, PRICES))
    tm = make_tm(recorder)
    result = tm("--output", "json", "cost", "--month", "2026-10")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"]["requests"] == sum(range(1, 32))
    assert Decimal(data["total"]["spend"]) == Decimal("3.1")  # 31 days at 0.10
    assert len(data["daily"]) == 31
    usage_requests = [r for r in recorder.requests if "usage" in r.url.path]
    assert len(usage_requests) == 5  # one per week of the month
    assert tm.clients == 1  # one SDK client (one connection pool) for all the requests


def test_tm_cost_window_ends_now(
    make_tm: Callable[[Recorder], Tm], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cost_command, "utc_now", lambda: datetime(2026, 11, 3, 6, tzinfo=UTC))
    recorder = Recorder(route=usage_server(USAGE, PRICES))
    result = make_tm(recorder)("--output", "json", "cost", "--window", "24h")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["start"], data["end"]) == ("2026-11-02T06:00:00Z", "2026-11-03T06:00:00Z")
    assert data["total"]["requests"] == 0  # the Nov 2 bucket starts before the window
    usage = next(r for r in recorder.requests if "usage" in r.url.path)
    assert usage.url.params["startTime"] == "2026-11-02T06:00:00Z"


def test_tm_cost_bad_range_is_a_usage_error_before_any_request(
    make_tm: Callable[[Recorder], Tm],
) -> None:
    recorder = Recorder((200, {}))
    result = make_tm(recorder)("cost", "--month", "2026-1")
    assert result.exit_code == 2
    assert "YYYY-MM" in result.stderr
    assert recorder.requests == []


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_shown_on_a_terminal(
    make_tm: Callable[[Recorder], Tm], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensormesh_cli.state import CliState

    terminal = FakeTerminal()
    monkeypatch.setattr(cost_command.sys, "stderr", terminal)
    state = CliState(
        flags={}, output="text", quiet=False, debug=False, config_path=None, environ={}
    )
    with cost_command.progress(state, 2) as advance:
        advance("Fetched prices")
        advance("Fetched usage to 2026-11-03")
    assert "Fetch" in terminal.getvalue()
    quiet = CliState(flags={}, output="text", quiet=True, debug=False, config_path=None, environ={})
    before = terminal.getvalue()
    with cost_command.progress(quiet, 1) as advance:
        advance("nothing shown")
    assert terminal.getvalue() == before
