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
    if views is not None:
        items = views(list(rows))
    else:
        assert view is not None
        items = [view(r) for r in rows]
    return Page(items, encode(rows[-1].id) if more and rows else None)


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
