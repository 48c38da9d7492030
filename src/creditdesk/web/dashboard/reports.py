"""Exports and the credit aging page (D3): the memo list's "Export CSV" (its filters as
the list page reads them), applications and refunds as CSV (all, or one customer's), and
the Credit aging page with its chart and its CSV. Plain links and a GET form: no
JavaScript needed.

Included before the memo pages: ``/credit-memos/export`` is not a memo id.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from creditdesk.domain import currencies, errors
from creditdesk.services.read_models import credit_aging, exports
from creditdesk.web import aging_chart, csv_export, forms, list_links, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.dashboard.memos import TABS

router = APIRouter()
AGING = "/dashboard/reports/credit-aging"


@router.get("/credit-memos/export")
def export_memos(db: DB, actor: User, status: str = "", customer_id: str = "",
                 source: str = "", has_remaining: str = "", q: str = "") -> Response:
    """The memos the list page shows with the same filters (all pages; the list's sort is
    a way of reading, not a filter, so the file is newest first). A filter the list page
    would ignore (an unknown status tab) is ignored here too; an unknown source is the
    list's 422."""
    return csv_export.response(exports.memo_export(
        db, actor=actor, statuses=[status] if status in TABS and status else None,
        customer_id=customer_id or None, source=source or None,
        has_remaining=True if has_remaining else None, q=q or None))


@router.get("/applications/export")
def export_applications(db: DB, actor: User, customer_id: str = "") -> Response:
    return csv_export.response(exports.application_export(db, actor=actor,
                                                          customer_id=customer_id or None))


@router.get("/refunds/export")
def export_refunds(db: DB, actor: User, customer_id: str = "") -> Response:
    return csv_export.response(exports.refund_export(db, actor=actor,
                                                     customer_id=customer_id or None))


def _as_of(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.ValidationError.for_field("as_of", "must be a date (YYYY-MM-DD)") from None


def _report(db: DB, actor, currency: str, as_of: str) -> credit_aging.CreditAging:
    return credit_aging.credit_aging(db, actor=actor, currency=currency or None,
                                     as_of=_as_of(as_of))


@router.get("/reports/credit-aging")
def aging_page(request: Request, db: DB, actor: User, currency: str = "",
               as_of: str = "") -> Response:
    """The report per currency: a table by reason and a bar chart by age, and the link to
    the same rows as CSV."""
    typed = {"currency": currency, "as_of": as_of}
    refusal, report = None, None
    try:
        report = _report(db, actor, currency, as_of)
    except errors.ValidationError as exc:
        refusal = forms.refusal("aging", exc, typed)
    return templating.render(request, "dashboard/credit_aging.html", {
        "report": report, "charts": aging_chart.charts(report) if report else [],
        "v": typed, "refusal": refusal, "currencies": sorted(currencies.MINOR_DIGITS),
        "csv_url": list_links.url(f"{AGING}.csv", typed)},
        status=refusal.status if refusal else 200)


@router.get("/reports/credit-aging.csv")
def aging_csv(db: DB, actor: User, currency: str = "", as_of: str = "") -> Response:
    """The report's rows as the API's ``format=csv`` writes them."""
    return csv_export.aging(_report(db, actor, currency, as_of))
