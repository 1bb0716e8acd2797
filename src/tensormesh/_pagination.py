"""Pagination of list routes, one implementation for sync and async (API.md §2).

Two styles exist on the wire:

- numbered pages: `page` (from 1) and `size` in, `{<items>[], page, size, total}` out
  (tickets, activities, admin lists, `/v1/models`): `NumberedPages("users")`;
- cursor pages: `pageSize` and `pageToken` in, `{<items>[], nextPageToken}` out, an empty token
  meaning the last page (billing transactions): `CursorPages("transactions")`.

A style decides, from the parameters of one page and its reply, the parameters of the next page
(or that there is none). `SyncPager` / `AsyncPager` only add the I/O: they call the resource's
`list(**params)` lazily, one page at a time, while the caller iterates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from ._exceptions import ProtocolError

__all__ = ["AsyncPager", "CursorPages", "NumberedPages", "PageStyle", "SyncPager"]

PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


class PageStyle(Protocol):
    """How the pages of one list route follow each other."""

    def items(self, page: Any) -> list[Any]:
        """The items of a page (a missing list reads as [])."""
        ...

    def following(self, params: Mapping[str, Any], page: Any, seen: int) -> dict[str, Any] | None:
        """The parameters of the page after `page` (fetched with `params`, `seen` items so far,
        its own included), or None when `page` was the last one."""
        ...


def _items(page: Any, name: str) -> list[Any]:
    return list(getattr(page, name, None) or [])


@dataclass(frozen=True)
class CursorPages:
    """`pageSize` / `pageToken` in, `{<items>[], nextPageToken}` out; an empty token ends."""

    items_field: str

    def items(self, page: Any) -> list[Any]:
        """The items of a page."""
        return _items(page, self.items_field)

    def following(self, params: Mapping[str, Any], page: Any, seen: int) -> dict[str, Any] | None:
        """The same parameters with the reply's `next_page_token`, or None when it is empty."""
        token = getattr(page, "next_page_token", None)
        if not token:
            return None
        if token == params.get("page_token"):
            raise ProtocolError(f"the server sent the page token {token!r} back unchanged")
        return {**params, "page_token": token}


def _count(value: Any) -> int | None:
    """A page counter as received (int, or int64 as a string); None when absent or invalid."""
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class NumberedPages:
    """`page` (from 1) / `size` in, `{<items>[], page, size, total}` out."""

    items_field: str

    def items(self, page: Any) -> list[Any]:
        """The items of a page."""
        return _items(page, self.items_field)

    def following(self, params: Mapping[str, Any], page: Any, seen: int) -> dict[str, Any] | None:
        """The next page number, or None after an empty or short page or once `total` is seen."""
        count = len(self.items(page))
        if count == 0:
            return None
        number = _count(getattr(page, "page", None)) or _count(params.get("page")) or 1
        size = _count(params.get("size")) or _count(getattr(page, "size", None))
        total = _count(getattr(page, "total", None))
        if total is not None:
            if (number * size if size else seen) >= total:
                return None
        elif size is not None and count < size:
            return None
        return {**params, "page": number + 1}


class _Walk:
    """Where a pagination stands: the parameters of the next page (None: done)."""

    def __init__(self, style: PageStyle, params: Mapping[str, Any]) -> None:
        self.style = style
        self.next_params: dict[str, Any] | None = dict(params)
        self.seen = 0

    def advance(self, page: Any) -> list[Any]:
        """Record a fetched page; return its items."""
        assert self.next_params is not None
        items = self.style.items(page)
        self.seen += len(items)
        self.next_params = self.style.following(self.next_params, page, self.seen)
        return items


class SyncPager(Iterator[ItemT], Generic[PageT, ItemT]):
    """Iterates the items of every page, fetching each page only when it is needed.

    `fetch(**params)` returns one page; `iter_pages()` iterates the pages themselves.
    """

    def __init__(
        self, fetch: Callable[..., PageT], style: PageStyle, params: Mapping[str, Any]
    ) -> None:
        self._fetch = fetch
        self._style = style
        self._params = dict(params)
        self._items: Iterator[ItemT] | None = None

    def iter_pages(self) -> Iterator[PageT]:
        """The pages, from the first one (a new walk each time it is called)."""
        walk = _Walk(self._style, self._params)
        while walk.next_params is not None:
            page = self._fetch(**walk.next_params)
            walk.advance(page)
            yield page

    def _iter_items(self) -> Iterator[ItemT]:
        for page in self.iter_pages():
            yield from cast("list[ItemT]", self._style.items(page))

    def __iter__(self) -> Iterator[ItemT]:
        return self

    def __next__(self) -> ItemT:
        if self._items is None:
            self._items = self._iter_items()
        return next(self._items)


class AsyncPager(AsyncIterator[ItemT], Generic[PageT, ItemT]):
    """Async iterates the items of every page, fetching each page only when it is needed.

    `fetch(**params)` is a coroutine function returning one page; `iter_pages()` iterates pages.
    """

    def __init__(
        self, fetch: Callable[..., Awaitable[PageT]], style: PageStyle, params: Mapping[str, Any]
    ) -> None:
        self._fetch = fetch
        self._style = style
        self._params = dict(params)
        self._items: AsyncIterator[ItemT] | None = None

    async def iter_pages(self) -> AsyncIterator[PageT]:
        """The pages, from the first one (a new walk each time it is called)."""
        walk = _Walk(self._style, self._params)
        while walk.next_params is not None:
            page = await self._fetch(**walk.next_params)
            walk.advance(page)
            yield page

    async def _iter_items(self) -> AsyncIterator[ItemT]:
        async for page in self.iter_pages():
            for item in cast("list[ItemT]", self._style.items(page)):
                yield item

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self

    async def __anext__(self) -> ItemT:
        if self._items is None:
            self._items = self._iter_items()
        return await self._items.__anext__()
