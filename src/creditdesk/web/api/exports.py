"""CSV exports and the credit aging report (D3).

Included before the memo router: ``/credit-memos/export`` would otherwise be taken for a
memo id by ``GET /credit-memos/{memo_id}``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import StreamingResponse

from creditdesk.domain import errors
from creditdesk.services.read_models import credit_aging, exports
from creditdesk.web import csv_export
from creditdesk.web.api import responses
from creditdesk.web.api.deps import DB, CurrentActor, Filter, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.memos import MemoQuery
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["exports"], route_class=DecimalJSONRoute)

CSV: dict[int | str, dict[str, Any]] = {200: {
    "description": "CSV (RFC 4180), streamed; amounts are plain decimals",
    "content": {"text/csv": {"schema": {"type": "string"}}}}}
FORMATS = ("json", "csv")


@router.get("/credit-memos/export", response_class=StreamingResponse, responses=CSV)
def export_memos(db: DB, actor: CurrentActor, filters: MemoQuery) -> StreamingResponse:
    """D3: the memos ``GET /credit-memos`` lists with the same filters, all of them, newest
    first. Text cells a spreadsheet would run as a formula are prefixed with ``'``."""
    return csv_export.response(exports.memo_export(
        db, actor=actor, statuses=filters.statuses, customer_id=filters.customer_id,
        source=filters.source, has_remaining=filters.has_remaining, q=filters.q))


@router.get("/applications/export", response_class=StreamingResponse, responses=CSV)
def export_applications(db: DB, actor: CurrentActor,
                        customer_id: Filter = None) -> StreamingResponse:
    """D3: every credit application (one customer's, with ``customer_id``), newest first."""
    return csv_export.response(exports.application_export(db, actor=actor,
                                                          customer_id=customer_id))


@router.get("/refunds/export", response_class=StreamingResponse, responses=CSV)
def export_refunds(db: DB, actor: CurrentActor, customer_id: Filter = None) -> StreamingResponse:
    """D3: every refund, voided ones included (``status``), newest first."""
    return csv_export.response(exports.refund_export(db, actor=actor,
                                                     customer_id=customer_id))


def aging_csv(report: credit_aging.CreditAging) -> StreamingResponse:
    """The report as CSV: one line per row of the JSON answer, ``as_of`` on each."""
    rows = [(report.as_of, r.currency, r.reason, r.days_0_30, r.days_31_60, r.days_61_90,
             r.days_over_90, r.total) for r in report.rows]
    return csv_export.response(exports.Export(
        f"credit-aging-{report.as_of.isoformat()}.csv", credit_aging.HEADER, iter([rows])))


@router.get("/reports/credit-aging", response_model=responses.CreditAgingOut,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def credit_aging_report(db: DB, actor: CurrentActor,
                        currency: Annotated[str | None, filter_query(max_length=3)] = None,
                        as_of: Annotated[date | None, Query(
                            description="the day ages are counted to (default today, UTC)")]
                        = None,
                        format: Annotated[str | None, filter_query(values=FORMATS)] = None,
                        ) -> credit_aging.CreditAging | StreamingResponse:
    """D3: remaining credit (issued and partially applied memos, native and synced) per
    currency and reason, by age in whole days since the issue date: 0-30, 31-60, 61-90,
    over 90. ``format=csv`` answers the same rows as CSV."""
    if format not in (None, *FORMATS):
        raise errors.ValidationError.for_field("format", "must be one of: json, csv")
    report = credit_aging.credit_aging(db, actor=actor, currency=currency, as_of=as_of)
    return aging_csv(report) if format == "csv" else report
