"""CSV exports and the credit aging report (D3).

Included before the memo router: ``/credit-memos/export`` would otherwise be taken for a
memo id by ``GET /credit-memos/{memo_id}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.responses import StreamingResponse

from creditdesk.domain import currencies, errors
from creditdesk.services.read_models import credit_aging, exports
from creditdesk.web import csv_export
from creditdesk.web.api import fields, responses
from creditdesk.web.api.deps import DB, CurrentActor, Filter, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.memos import MemoQuery
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["exports"], route_class=DecimalJSONRoute)

CSV: dict[int | str, dict[str, Any]] = {200: {
    "description": "CSV (RFC 4180), streamed; amounts are plain decimals",
    "content": {"text/csv": {"schema": {"type": "string"}}}}}
FORMATS = ("json", "csv")
CURRENCIES = sorted(currencies.MINOR_DIGITS)


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


@router.get("/reports/credit-aging", response_model=responses.CreditAgingOut,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def credit_aging_report(db: DB, actor: CurrentActor,
                        currency: Annotated[str | None, filter_query(values=CURRENCIES)] = None,
                        as_of: fields.QueryDay | None = None,
                        format: Annotated[str | None, filter_query(values=FORMATS)] = None,
                        ) -> credit_aging.CreditAging | StreamingResponse:
    """D3: remaining credit (issued and partially applied memos, native and synced) per
    currency and reason, by age in whole days since the issue date: 0-30, 31-60, 61-90,
    over 90. ``as_of`` (default today, UTC) is the day ages are counted to; memos issued
    after it are left out. ``format=csv`` answers the same rows as CSV."""
    if format not in (None, *FORMATS):
        raise errors.ValidationError.for_field("format", "must be one of: json, csv")
    report = credit_aging.credit_aging(db, actor=actor, currency=currency, as_of=as_of)
    return csv_export.aging(report) if format == "csv" else report
