"""The pagination walk (`tensormesh._pagination`): cursor and numbered pages, sync and async,
fetched lazily."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field

from tensormesh import ProtocolError
from tensormesh._pagination import AsyncPager, CursorPages, NumberedPages, SyncPager
from tensormesh.types.control_plane import ControlPlaneModel


class CursorPage(ControlPlaneModel):
    things: list[int] = Field(default_factory=list)
    next_page_token: str = ""


class NumberedPage(ControlPlaneModel):
    things: list[int] = Field(default_factory=list)
    page: int | None = None
    size: int | None = None
    total: str | int | None = None


class CursorServer:
    """Serves `items` in pages of `size`; the token is the index of the next item."""

    def __init__(self, items: list[int], size: int) -> None:
        self.items, self.size = items, size
        self.calls: list[dict[str, Any]] = []

    def page(self, **params: Any) -> CursorPage:
        self.calls.append(params)
        start = int(params.get("page_token") or 0)
        end = start + self.size
        token = str(end) if end < len(self.items) else ""
        return CursorPage(things=self.items[start:end], next_page_token=token)

    async def apage(self, **params: Any) -> CursorPage:
        return self.page(**params)


class NumberedServer:
    """Serves `items` in numbered pages; `with_total` False leaves `total` out of replies."""

    def __init__(self, items: list[int], with_total: bool = True) -> None:
        self.items, self.with_total = items, with_total
        self.calls: list[dict[str, Any]] = []

    def page(self, **params: Any) -> NumberedPage:
        self.calls.append(params)
        number, size = int(params.get("page", 1)), int(params["size"])
        chunk = self.items[(number - 1) * size : number * size]
        total = str(len(self.items)) if self.with_total else None
        return NumberedPage(things=chunk, page=number, size=size, total=total)

    async def apage(self, **params: Any) -> NumberedPage:
        return self.page(**params)


async def collect(pager: SyncPager[Any, int] | AsyncPager[Any, int]) -> list[int]:
    if isinstance(pager, SyncPager):
        return list(pager)
    return [item async for item in pager]


def cursor_pager(mode: str, server: CursorServer, **params: Any) -> Any:
    style = CursorPages("things")
    if mode == "sync":
        return SyncPager(server.page, style, params)
    return AsyncPager(server.apage, style, params)


def numbered_pager(mode: str, server: NumberedServer, **params: Any) -> Any:
    style = NumberedPages("things")
    if mode == "sync":
        return SyncPager(server.page, style, params)
    return AsyncPager(server.apage, style, params)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(("count", "size", "pages"), [(0, 3, 1), (2, 3, 1), (3, 3, 1), (7, 3, 3)])
async def test_cursor_pages_yield_every_item_once(
    mode: str, count: int, size: int, pages: int
) -> None:
    items = list(range(100, 100 + count))
    server = CursorServer(items, size)
    assert await collect(cursor_pager(mode, server, page_size=size, user_id="u1")) == items
    assert len(server.calls) == pages
    assert server.calls[0] == {"page_size": size, "user_id": "u1"}
    for call in server.calls[1:]:
        assert call["user_id"] == "u1"
        assert call["page_size"] == size
    tokens = [call.get("page_token") for call in server.calls]
    assert tokens == [None, *[str(size * n) for n in range(1, pages)]]


@pytest.mark.parametrize("with_total", [True, False])
@pytest.mark.parametrize(("count", "size", "pages"), [(0, 2, 1), (1, 2, 1), (5, 2, 3), (6, 2, 3)])
async def test_numbered_pages_yield_every_item_once(
    mode: str, count: int, size: int, pages: int, with_total: bool
) -> None:
    items = list(range(count))
    server = NumberedServer(items, with_total=with_total)
    assert await collect(numbered_pager(mode, server, size=size)) == items
    # Without `total`, a full last page needs one more (empty) request to be known as the last.
    extra = 0 if with_total or count % size or count == 0 else 1
    assert len(server.calls) == pages + extra
    assert [call.get("page") for call in server.calls] == [None, *range(2, pages + extra + 1)]


async def test_numbered_pages_start_at_the_page_asked_for(mode: str) -> None:
    server = NumberedServer(list(range(10)))
    assert await collect(numbered_pager(mode, server, size=3, page=3)) == [6, 7, 8, 9]
    assert [call["page"] for call in server.calls] == [3, 4]


def test_pages_are_fetched_only_when_needed() -> None:
    server = CursorServer(list(range(6)), 2)
    pager: SyncPager[CursorPage, int] = cursor_pager("sync", server, page_size=2)
    assert server.calls == []
    assert next(pager) == 0
    assert len(server.calls) == 1
    assert next(pager) == 1
    assert len(server.calls) == 1
    assert next(pager) == 2
    assert len(server.calls) == 2


async def test_async_pages_are_fetched_only_when_needed() -> None:
    server = CursorServer(list(range(6)), 2)
    pager: AsyncPager[CursorPage, int] = cursor_pager("async", server, page_size=2)
    assert server.calls == []
    assert await pager.__anext__() == 0
    assert await pager.__anext__() == 1
    assert len(server.calls) == 1
    assert await pager.__anext__() == 2
    assert len(server.calls) == 2


async def test_iter_pages_yields_the_pages(mode: str) -> None:
    server = CursorServer(list(range(5)), 2)
    pager = cursor_pager(mode, server, page_size=2)
    if mode == "sync":
        pages = list(pager.iter_pages())
    else:
        pages = [page async for page in pager.iter_pages()]
    assert [page.things for page in pages] == [[0, 1], [2, 3], [4]]


async def test_a_token_sent_back_unchanged_is_a_protocol_error(mode: str) -> None:
    def stuck(**params: Any) -> CursorPage:
        return CursorPage(things=[1], next_page_token="same")

    async def astuck(**params: Any) -> CursorPage:
        return stuck(**params)

    style = CursorPages("things")
    pager: Any = SyncPager(stuck, style, {}) if mode == "sync" else AsyncPager(astuck, style, {})
    with pytest.raises(ProtocolError, match="unchanged"):
        await collect(pager)


async def test_a_missing_item_list_reads_as_empty(mode: str) -> None:
    def empty(**params: Any) -> CursorPage:
        return CursorPage.model_validate({})

    async def aempty(**params: Any) -> CursorPage:
        return empty(**params)

    style = CursorPages("things")
    pager: Any = SyncPager(empty, style, {}) if mode == "sync" else AsyncPager(aempty, style, {})
    assert await collect(pager) == []
