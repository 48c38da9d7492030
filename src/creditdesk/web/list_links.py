"""The links of a list page, each keeping every other filter: status tabs, sortable
column headers and the pager (issue 11: a tab or a sort never drops the search)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode


def url(path: str, params: dict[str, str], **changes: str) -> str:
    """``path`` with ``params`` updated by ``changes``; empty values left out."""
    merged = {**params, **changes}
    query = urlencode({k: v for k, v in merged.items() if v})
    return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class Column:
    """A sortable header: the link to sort by it, and how the list is sorted by it now."""

    href: str
    aria_sort: str  # "ascending", "descending" or "none"
    arrow: str


def columns(path: str, params: dict[str, str], keys: tuple[str, ...],
            descending_first: frozenset[str] = frozenset()) -> dict[str, Column]:
    """One header per sort key. A first click sorts ascending (amounts and dates in
    ``descending_first`` start with the largest or newest); a second reverses; the
    cursor is dropped since a new order starts on page one."""
    current = params.get("sort", "")
    out = {}
    for key in keys:
        if current == key:
            out[key] = Column(url(path, params, sort=f"-{key}", cursor=""), "ascending", "▲")
        elif current == f"-{key}":
            out[key] = Column(url(path, params, sort=key, cursor=""), "descending", "▼")
        else:
            first = f"-{key}" if key in descending_first else key
            out[key] = Column(url(path, params, sort=first, cursor=""), "none", "")
    return out
