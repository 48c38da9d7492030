"""Column labels on table cells, so a table can become stacked rows on a phone.

At 375 px a table of five columns does not fit; app.css turns each row into a card whose
cells show their column's name (``td[data-label]::before``). Rather than every template
repeating its header text on every cell, the rendered page is given the labels here, from
each table's ``<thead>``: every table on every page, including tables added later, is
labelled the same way, with or without JavaScript. A cell that has a ``data-label``
already keeps it; a cell spanning columns gets an empty one, and so does a column whose
header is for screen readers only (``visually-hidden``, such as "Action" over buttons).

The pages are our own templates' output, so a few regular expressions over it suffice
(no nested tables, one header row); a table whose header spans columns is left alone.
"""

from __future__ import annotations

import html
import re

_TABLE = re.compile(r"<table\b.*?</table>", re.S)
_THEAD = re.compile(r"<thead\b.*?</thead>", re.S)
_TH = re.compile(r"<th\b([^>]*)>(.*?)</th>", re.S)
_TBODY = re.compile(r"(<tbody\b.*?</tbody>)", re.S)
_ROW = re.compile(r"<tr\b.*?</tr>", re.S)
_CELL = re.compile(r"<t([hd])\b([^>]*)>")
_COLSPAN = re.compile(r"""colspan=["']?(\d+)""")
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _header_text(cell: str) -> str:
    if "visually-hidden" in cell:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", cell))).strip()


def _label_row(row: re.Match[str], labels: list[str]) -> str:
    index = -1

    def cell(m: re.Match[str]) -> str:
        nonlocal index
        index += 1
        kind, attrs = m.group(1), m.group(2)
        span = _COLSPAN.search(attrs)
        first = index
        if span:  # a cell across columns ("No runs yet."): no one column's name
            index += int(span.group(1)) - 1
        if kind == "h" or "data-label" in attrs or first >= len(labels):
            return m.group(0)
        label = "" if span else labels[first]
        return f'<td data-label="{html.escape(label, quote=True)}"{attrs}>'

    return _CELL.sub(cell, row.group(0))


def _label_table(table: re.Match[str]) -> str:
    text = table.group(0)
    head = _THEAD.search(text)
    if head is None:
        return text
    headers = _TH.findall(head.group(0))
    if not headers or any("colspan" in attrs for attrs, _ in headers):
        return text
    labels = [_header_text(f"<th{attrs}>{inner}") for attrs, inner in headers]
    return _TBODY.sub(lambda body: _ROW.sub(lambda r: _label_row(r, labels), body.group(0)),
                      text)


def label_tables(page: str) -> str:
    """``page`` with each body cell of each headed table labelled with its column."""
    if "<thead" not in page:
        return page
    return _TABLE.sub(_label_table, page)
