"""`tm cost`: what your serverless usage cost, per model (requests, tokens, spend, cache
savings) and per day (a bar chart), over a window, a calendar month or a time range."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import click

from tensormesh_cli.commands.billing import call
from tensormesh_cli.cost_report import CostReport, ModelCost, build_report, time_slices
from tensormesh_cli.errors import CliError, InputError
from tensormesh_cli.render import View, color_enabled, emit
from tensormesh_cli.state import CliState, get_state
from tensormesh_cli.timespec import parse_moment, utc_now

if TYPE_CHECKING:
    from tensormesh.resources.control_plane import ControlPlane
    from tensormesh.types import Money
    from tensormesh.types.billing import UsageHistory, UsageRow

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
SLICE = timedelta(days=7)  # one usage-history request per week of the range
BAR_WIDTH = 40
MAX_BARS = 62  # more days than this are charted per week
EIGHTHS = " ▏▎▍▌▋▊▉"
FULL_BLOCK = "█"
COLUMNS = (
    ("model", "MODEL"),
    ("requests", "REQUESTS"),
    ("input_tokens", "INPUT"),
    ("output_tokens", "OUTPUT"),
    ("cached_tokens", "CACHED"),
    ("spend", "SPEND"),
    ("cache_savings", "CACHE SAVINGS"),
)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_range(text: str) -> tuple[datetime, datetime]:
    """The calendar month YYYY-MM as [first day 00:00 UTC, first day of the next month)."""
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"--month {text!r} is not a month: use YYYY-MM (e.g. 2026-11)")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


def report_range(
    window: str | None, month: str | None, start: str | None, end: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) from exactly one of --window, --month or --start (with optional --end)."""
    chosen = [name for name, value in (("--window", window), ("--month", month)) if value]
    if start or end:
        chosen.append("--start/--end")
    if len(chosen) > 1:
        raise InputError(f"give only one of {', '.join(chosen)}")
    if month:
        return month_range(month)
    if start or end:
        if not start:
            raise InputError("--end needs --start")
        begin = parse_moment(start, "--start", now=now)
        finish = parse_moment(end, "--end", now=now) if end else now
        if begin >= finish:
            raise InputError("--start must be before --end")
        return begin, finish
    return now - WINDOWS[window or "30d"], now


@contextmanager
def progress(state: CliState, total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr while the data is fetched (only on a terminal, not with -q);
    yields `advance(description)`."""
    if state.quiet or not sys.stderr.isatty():
        yield lambda _description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    console = Console(file=sys.stderr, no_color=not color_enabled(sys.stderr))
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("Fetching usage", total=total)

        def advance(description: str) -> None:
            bar.update(task, advance=1, description=description)

        yield advance


def usage_between(
    begin: datetime, finish: datetime, user_id: str | None
) -> Callable[[ControlPlane], UsageHistory]:
    """The request of one slice: daily usage rows of [begin, finish)."""

    def fetch(cp: ControlPlane) -> UsageHistory:
        return cp.billing.spending.usage_history(
            bucket="day", start_time=begin, end_time=finish, user_id=user_id
        )

    return fetch


def fetch_report(
    state: CliState, start: datetime, end: datetime, user_id: str | None
) -> CostReport:
    """The price list and the usage rows of [start, end) (one request per week), as a report."""
    slices = time_slices(start, end, SLICE)
    rows: list[UsageRow] = []
    with progress(state, len(slices) + 1) as advance:
        prices = call(state, lambda cp: cp.billing.pricing.serverless.list()).pricing
        advance("Fetched prices")
        for begin, finish in slices:
            rows.extend(call(state, usage_between(begin, finish, user_id)).rows)
            advance(f"Fetched usage to {finish:%Y-%m-%d}")
    try:
        return build_report(rows, prices, start, end)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _cells(item: ModelCost) -> dict[str, str]:
    def count(value: int) -> str:
        return f"{value:,}"

    def money(value: Money | None) -> str:
        return "n/a" if value is None else value.format()

    return {
        "model": item.model,
        "requests": count(item.requests),
        "input_tokens": count(item.input_tokens),
        "output_tokens": count(item.output_tokens),
        "cached_tokens": count(item.cached_tokens),
        "spend": money(item.spend),
        "cache_savings": money(item.cache_savings),
    }


def cost_table(report: CostReport) -> str:
    """The per-model table with a totals row; numbers right-aligned."""
    lines = [[title for _, title in COLUMNS]]
    for item in [*report.models, report.total]:
        cells = _cells(item)
        lines.append([cells[key] for key, _ in COLUMNS])
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]

    def render(line: Sequence[str]) -> str:
        first = line[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    body = [render(line) for line in lines]
    return "\n".join([*body[:-1], rule, body[-1]])


def bar(value: int, top: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of `value` out of `top` in `width` cells, in eighths of a block; a
    non-zero value always shows at least a sliver."""
    if value <= 0 or top <= 0:
        return ""
    eighths = max(1, round(value * width * 8 / top))
    full, rest = divmod(eighths, 8)
    return FULL_BLOCK * full + (EIGHTHS[rest] if rest else "")


def chart_series(daily: Sequence[tuple[date, Money]]) -> tuple[str, list[tuple[date, Money]]]:
    """("Daily", the days), or ("Weekly", sums per week from Monday) when there are more than
    MAX_BARS days."""
    if len(daily) <= MAX_BARS:
        return "Daily", list(daily)
    weeks: dict[date, Money] = {}
    for day, spend in daily:
        monday = day - timedelta(days=day.weekday())
        weeks[monday] = weeks[monday] + spend if monday in weeks else spend
    return "Weekly", sorted(weeks.items())


def bar_chart(daily: Sequence[tuple[date, Money]], currency: str, *, color: bool) -> str:
    """Spend as one bar per day (per week over long ranges): plain Unicode blocks, green only
    when `color`."""
    period, series = chart_series(daily)
    top = max((spend.to_nanos() for _, spend in series), default=0)
    amounts = [spend.format() for _, spend in series]
    amount_width = max((len(text) for text in amounts), default=0)
    lines = [f"{period} spend ({currency})"]
    for (day, spend), amount in zip(series, amounts, strict=True):
        blocks = bar(spend.to_nanos(), top).ljust(BAR_WIDTH)
        if color:
            blocks = click.style(blocks, fg="green")
        lines.append(f"{day.isoformat()}  {blocks}  {amount.rjust(amount_width)}")
    return "\n".join(lines)


def report_text(report: CostReport, *, color: bool) -> str:
    """`tm cost` for people: the range, the table, the chart."""
    heading = (
        f"Serverless cost from {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC "
        f"({report.currency}; prices per 1M tokens)"
    )
    parts = [heading, "", cost_table(report)]
    if report.daily:
        parts += ["", bar_chart(report.daily, report.currency, color=color)]
    return "\n".join(parts)


@click.command()
@click.option(
    "--window",
    type=click.Choice(list(WINDOWS)),
    help="The last 24 hours, 7 days or 30 days (the default: 30d).",
)
@click.option("--month", metavar="YYYY-MM", help="A calendar month (UTC).")
@click.option("--start", metavar="TIME", help="Start: RFC 3339, or a duration ago (e.g. 14d).")
@click.option("--end", metavar="TIME", help="End (default: now).")
@click.option("--user-id", help="Another user's cost (admins only).")
def cost(
    window: str | None, month: str | None, start: str | None, end: str | None, user_id: str | None
) -> None:
    """What your serverless usage cost: per model and per day.

    Requests, input/output/cached tokens, spend and cache savings per model (with totals),
    computed from your usage history at the current prices, and a bar chart of daily spend.
    `--output json` gives the same numbers as data (amounts as decimal strings).
    """
    begin, finish = report_range(window, month, start, end, utc_now())
    state = get_state()
    report = fetch_report(state, begin, finish, user_id)
    rows = [
        {title: _cells(item)[key] for key, title in COLUMNS}
        for item in [*report.models, report.total]
    ]
    text = report_text(report, color=color_enabled())
    view = View(data=report.to_data(), text=text, rows=rows, columns=[t for _, t in COLUMNS])
    emit(view, state.output)
    if report.unpriced and state.output in ("text", "table"):
        state.say(f"No price for: {', '.join(report.unpriced)} (their spend is not counted).")
