"""Cursor pagination over time-ordered ids, newest first (S2, API.md lists)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from creditdesk.domain import errors

V = TypeVar("V")

MAX_LIMIT = 200
MAX_SEARCH = 255  # the longest searchable text: names, emails, numbers are shorter


@dataclass(frozen=True)
class Page(Generic[V]):
    data: Sequence[V]
    next_cursor: str | None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.ValidationError.for_field("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def encode(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (ValueError, UnicodeError):
        raise errors.ValidationError.for_field(
            "cursor", "is not a cursor this API returned") from None
    if not value or not value.isprintable():
        raise errors.ValidationError.for_field("cursor", "is not a cursor this API returned")
    return value


def newest_first(session: Session, stmt: Select[Any], id_column: InstrumentedAttribute[str], *,
                 limit: int, cursor: str | None, view: Callable[[Any], V] | None = None,
                 views: Callable[[list[Any]], list[V]] | None = None) -> Page[V]:
    """Run ``stmt`` ordered by id descending from ``cursor`` and build one page, each row
    with ``view`` or all of them at once with ``views`` (which can batch its reads)."""
    check_limit(limit)
    if cursor:
        stmt = stmt.where(id_column < decode(cursor))
    rows = session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(_items(list(rows), view, views), encode(rows[-1].id) if more and rows else None)


def _items(rows: list[Any], view: Callable[[Any], V] | None,
           views: Callable[[list[Any]], list[V]] | None) -> list[V]:
    if views is not None:
        return views(rows)
    assert view is not None
    return [view(r) for r in rows]


@dataclass(frozen=True)
class Sort:
    """A list's order other than newest first: a column, ascending or descending."""

    key: str
    descending: bool

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key


def parse_sort(value: str | None, keys: tuple[str, ...]) -> Sort | None:
    """``"total"`` ascending, ``"-total"`` descending; empty: newest first (None)."""
    if not value:
        return None
    key = value.removeprefix("-")
    if key not in keys:
        raise errors.ValidationError.for_field(
            "sort", f"must be one of: {', '.join(keys)} (a leading - sorts descending)")
    return Sort(key, value.startswith("-"))


MAX_OFFSET = 1_000_000


def sorted_page(session: Session, stmt: Select[Any], key: Any,
                id_column: InstrumentedAttribute[str], *, descending: bool, limit: int,
                cursor: str | None, view: Callable[[Any], V] | None = None,
                views: Callable[[list[Any]], list[V]] | None = None) -> Page[V]:
    """One page of ``stmt`` ordered by ``key`` (ties by id). The cursor is an offset: a
    sorted dashboard list is read a page or two deep, and no key but the id has an index
    to seek by (the default order stays ``newest_first``'s keyset)."""
    check_limit(limit)
    offset = 0
    if cursor:
        value = decode(cursor)
        if not (value.startswith("o") and value[1:].isdigit() and len(value) <= 8):
            raise errors.ValidationError.for_field("cursor", "is not a cursor this API returned")
        offset = min(int(value[1:]), MAX_OFFSET)
    order = (key.desc(), id_column.desc()) if descending else (key.asc(), id_column.asc())
    rows = session.scalars(stmt.order_by(*order).offset(offset).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(_items(list(rows), view, views), encode(f"o{offset + limit}") if more else None)


def prefix_pattern(text: str) -> str:
    """A LIKE pattern matching values that start with ``text`` taken literally. Search text
    longer than any searchable value is refused (SQLite also refuses LIKE patterns over
    50,000 bytes: that was a 503)."""
    if len(text) > MAX_SEARCH:
        raise errors.ValidationError.for_field("q", f"must be at most {MAX_SEARCH} characters")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching values that contain ``text`` taken literally."""
    return "%" + prefix_pattern(text)
