"""Writing a CSV export (D3) as a streamed answer, a page of rows per chunk.

Cells: amounts (``exports.Amount``, or ``Money``) as plain decimals with their currency's
digits (``1234.50``, exact from the minor units: no symbol, no thousands separator),
dates and datetimes in ISO 8601, None empty. Text that a spreadsheet would run as a
formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
prefixed with ``'`` (OWASP, *CSV Injection*): a customer named ``=HYPERLINK(...)`` stays
text. Only text cells (plain ``str``) are guarded: amounts and dates are ours.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from fastapi.responses import StreamingResponse

from creditdesk.domain.money import Money
from creditdesk.services.read_models import credit_aging, exports

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as its CSV text."""
    if value.__class__ is str:  # text from a person or a system: guarded
        return "'" + value if value.startswith(FORMULA_START) else value
    if value is None:
        return ""
    if isinstance(value, Money):
        return value.to_str()
    if isinstance(value, date):  # datetimes too (a subclass)
        return value.isoformat()
    return str(value)  # an exports.Amount, already plain text


def chunks(header: Iterable[str], pages: Iterable[list[tuple[Any, ...]]]) -> Iterator[bytes]:
    """The header line, then one chunk of UTF-8 per page of rows (CRLF line ends, RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue().encode()
    for page in pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([cell(v) for v in row] for row in page)
        yield buffer.getvalue().encode()


def response(export: exports.Export) -> StreamingResponse:
    """The export as a ``text/csv`` download, written as its pages are read."""
    return StreamingResponse(
        chunks(export.header, export.pages), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


def aging(report: credit_aging.CreditAging) -> StreamingResponse:
    """The credit aging report (D3) as CSV: one line per row of its JSON answer, with
    ``as_of`` on each."""
    rows = [(report.as_of, r.currency, r.reason, r.days_0_30, r.days_31_60, r.days_61_90,
             r.days_over_90, r.total) for r in report.rows]
    return response(exports.Export(f"credit-aging-{report.as_of.isoformat()}.csv",
                                   credit_aging.HEADER, iter([rows])))
