"""List commands over numbered pages: the `--page/--size/--all` options, fetching one page or
every page (the SDK's `auto_paging_iter`), and printing the items in every output format."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from tensormesh_cli.errors import InputError
from tensormesh_cli.render import View, emit, format_columns, to_plain
from tensormesh_cli.state import CliState

__all__ = ["Listing", "PageRequest", "compact", "paging_options", "show_listing"]

F = TypeVar("F", bound=Callable[..., Any])


def paging_options(command: F) -> F:
    """Add `--page`, `--size` and `--all` (parameters `page`, `size`, `all_pages`)."""
    command = click.option("--all", "all_pages", is_flag=True, help="Fetch every page.")(command)
    command = click.option("--size", type=click.IntRange(min=1), help="Items per page.")(command)
    return click.option("--page", type=click.IntRange(min=1), help="Page number (from 1).")(command)


@dataclass(frozen=True)
class PageRequest:
    """What a list command was asked for: one page (`page`, `size`) or `every` page."""

    page: int | None = None
    size: int | None = None
    every: bool = False

    @classmethod
    def of(cls, page: int | None, size: int | None, all_pages: bool) -> PageRequest:
        """The request of `--page`, `--size` and `--all` (`--page` with `--all` is refused)."""
        if all_pages and page is not None:
            raise InputError("give --page or --all, not both")
        return cls(page=page, size=size, every=all_pages)

    def page_params(self) -> dict[str, Any]:
        """The `page`/`size` keyword arguments of one `list(...)` call (only those given)."""
        params = {"page": self.page, "size": self.size}
        return {key: value for key, value in params.items() if value is not None}

    def fetch(
        self, one_page: Callable[[dict[str, Any]], Any], every_item: Callable[[dict[str, Any]], Any]
    ) -> Listing:
        """The listing: `one_page(params)` returns a page reply, `every_item(params)` iterates
        the items of all pages (the `size` is kept as the page size)."""
        if self.every:
            params = {"size": self.size} if self.size is not None else {}
            return Listing(list(every_item(params)), None)
        return Listing(None, one_page(self.page_params()))


@dataclass(frozen=True)
class Listing:
    """Either every item (`items`) or one page reply (`page`, with `.page/.size/.total`)."""

    items: list[Any] | None
    page: Any

    def entries(self, field: str) -> list[Any]:
        if self.items is not None:
            return self.items
        return list(getattr(self.page, field, None) or [])

    def data(self, field: str) -> dict[str, Any]:
        """`{<field>: [...], page, size, total}` (or `{<field>: [...], total}` for --all)."""
        entries = [to_plain(item) for item in self.entries(field)]
        if self.page is None:
            return {field: entries, "total": len(entries)}
        return {
            field: entries,
            "page": self.page.page,
            "size": self.page.size,
            "total": self.page.total,
        }

    def footer(self, field: str) -> str | None:
        """A hint about the other pages, when there are some."""
        if self.page is None:
            return None
        shown = len(self.entries(field))
        number, size, total = self.page.page or 1, self.page.size, self.page.total
        if not total or not shown or (size and number * size >= total) or shown >= total:
            return None
        return (
            f"Page {number}: {shown} of {total} {field}. "
            f"--page {number + 1} for more, --all for all."
        )


def show_listing(
    state: CliState,
    listing: Listing,
    field: str,
    row: Callable[[Any], Mapping[str, Any]],
    columns: Sequence[str],
    *,
    empty: str | None = None,
) -> None:
    """Print the items as a table (text/table) or as data (json/yaml/raw), hint about more pages."""
    rows = [dict(row(item)) for item in listing.entries(field)]
    text = format_columns(rows, columns) if rows else (empty or f"(no {field})")
    emit(View(data=listing.data(field), text=text, rows=rows, columns=columns), state.output)
    footer = listing.footer(field)
    if footer and state.output in ("text", "table"):
        state.say(footer)


def compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` without the entries that are None (options that were not given)."""
    return {key: value for key, value in values.items() if value is not None}
