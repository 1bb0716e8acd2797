"""Numbered pages (`page` from 1, `size`) over a SELECT: the rows of one page and the total."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

DEFAULT_SIZE = 20
MAX_SIZE = 100
MAX_PAGE = 10**9
"""Pages beyond this are clamped to it (an OFFSET past a 64-bit integer fails in the database)."""


@dataclass(frozen=True)
class Page:
    """Which page to read; `size` is clamped to MAX_SIZE, `page` to MAX_PAGE."""

    page: int = 1
    size: int = DEFAULT_SIZE

    @classmethod
    def of(cls, page: int | None, size: int | None) -> Page:
        """The page asked for (defaults: page 1 of DEFAULT_SIZE)."""
        return cls(max(1, min(MAX_PAGE, page or 1)), max(1, min(MAX_SIZE, size or DEFAULT_SIZE)))


def fetch(session: Session, statement: Select[T], page: Page) -> tuple[list[T], int]:
    """The rows of `page` of `statement` (which carries its ORDER BY) and the total count."""
    counted: Select[Any] = select(func.count()).select_from(statement.order_by(None).subquery())
    total = int(session.scalar(counted) or 0)
    rows = session.scalars(statement.offset((page.page - 1) * page.size).limit(page.size))
    return list(rows), total
