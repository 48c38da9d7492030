"""Credit memos: drafts, lifecycle, applications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from creditdesk.domain import memo as memo_rules
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.common.pagination import Page
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos, refunds
from creditdesk.services.read_models import preview, views
from creditdesk.web.api import fields, previews, responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["credit memos"], route_class=DecimalJSONRoute)
STATUSES = filter_query(values=[s.value for s in memo_rules.MemoStatus], many=True)
SOURCES = filter_query(values=[s.value for s in memo_rules.Source])
INVOICE_ID = Query(min_length=1, json_schema_extra={"pattern": fields.NO_NUL})


@router.post("/credit-memos", status_code=201, response_model=responses.MemoOut)
def create_memo(body: schemas.MemoIn, db: DB, actor: CurrentActor) -> views.MemoView:
    lines = [li.model_dump() for li in body.lines] if body.lines is not None else None
    return memos.create_memo(
        db, actor=actor, customer_id=body.customer_id, reason=body.reason, amount=body.amount,
        lines=lines, currency=body.currency, invoice_id=body.invoice_id,
        issue_date=body.issue_date, notes=body.notes, tax_inclusive=body.tax_inclusive,
        customer_note=body.customer_note)


@dataclass(frozen=True)
class MemoFilters:
    """S2's filters as the memo list reads them from the query; its CSV export (D3) reads
    the same ones through the same dependency, so both accept and refuse alike."""

    statuses: list[str] | None
    customer_id: str | None
    source: str | None
    has_remaining: bool | None
    q: str | None


def memo_filters(status: Annotated[list[str] | None, STATUSES] = None,
                 customer_id: Filter = None,
                 source: Annotated[str | None, SOURCES] = None,
                 has_remaining: bool | None = None,
                 q: Annotated[str | None, filter_query(max_length=60)] = None) -> MemoFilters:
    return MemoFilters(status, customer_id, source, has_remaining, q)


MemoQuery = Annotated[MemoFilters, Depends(memo_filters)]


@router.get("/credit-memos", response_model=responses.MemoPage)
def list_memos(db: DB, actor: CurrentActor, filters: MemoQuery,
               limit: Limit = 50, cursor: Cursor = None) -> Page[views.MemoView]:
    """S2: memos newest first, filtered by status (repeatable), customer, source, remaining
    credit and memo number."""
    return memos.list_memos(db, actor=actor, statuses=filters.statuses,
                            customer_id=filters.customer_id, source=filters.source,
                            has_remaining=filters.has_remaining, q=filters.q, limit=limit,
                            cursor=cursor)


@router.get("/credit-memos/{memo_id}", response_model=responses.MemoOut)
def get_memo(memo_id: str, db: DB, actor: CurrentActor) -> views.MemoView:
    return memos.get_memo(db, actor=actor, memo_id=memo_id)


@router.patch("/credit-memos/{memo_id}", response_model=responses.MemoOut)
def update_memo(memo_id: str, body: schemas.MemoPatch, db: DB,
                actor: CurrentActor) -> views.MemoView:
    changes: dict[str, object] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        changes[name] = ([li.model_dump() for li in value] if name == "lines" and value
                         else value)
    return memos.update_memo(db, actor=actor, memo_id=memo_id, changes=changes)


@router.delete("/credit-memos/{memo_id}", status_code=204)
def delete_memo(memo_id: str, db: DB, actor: CurrentActor) -> Response:
    memos.delete_memo(db, actor=actor, memo_id=memo_id)
    return Response(status_code=204)


@router.post("/credit-memos/{memo_id}/issue",
             response_model=responses.MemoOut | previews.PreviewOut)
def issue_memo(memo_id: str, db: DB, actor: CurrentActor,
               preview_: previews.Flag = False) -> views.MemoView | Response:
    if preview_:
        return previews.answer(preview.issue(db, actor=actor, memo_id=memo_id))
    return memo_lifecycle.issue_memo(db, actor=actor, memo_id=memo_id)


@router.post("/credit-memos/{memo_id}/void",
             response_model=responses.MemoOut | previews.PreviewOut)
def void_memo(memo_id: str, body: schemas.VoidIn, db: DB, actor: CurrentActor,
              preview_: previews.Flag = False) -> views.MemoView | Response:
    if preview_:
        return previews.answer(preview.void(db, actor=actor, memo_id=memo_id,
                                            reason=body.reason))
    return memo_lifecycle.void_memo(db, actor=actor, memo_id=memo_id, reason=body.reason)


REQUESTED = {"model": responses.ApplicationRequestedOut,
             "description": "Synced credit: the application is pending its system's answer"}


@router.post("/credit-memos/{memo_id}/applications", status_code=201,
             response_model=responses.AppliedOut,
             responses={200: previews.ANSWER, 202: REQUESTED})
def apply_credit(memo_id: str, body: schemas.ApplicationIn, db: DB, actor: CurrentActor,
                 request: Request,
                 preview_: previews.Flag = False) -> credit.Applied | Response:
    """A1-A4; synced credit (Y11) answers 202 with the application ``pending`` while its
    write-back waits for the system."""
    if preview_:
        return previews.answer(preview.apply(db, actor=actor, memo_id=memo_id,
                                             invoice_id=body.invoice_id, amount=body.amount))
    applied = credit.apply_credit(db, actor=actor, memo_id=memo_id,
                                  invoice_id=body.invoice_id, amount=body.amount)
    if applied.application.write_back is None:
        return applied
    sync_jobs.wake(request.app.state)
    return requested(applied.application)


def requested(application: views.ApplicationView) -> Response:
    """202 ``{"application"}``."""
    return responses.accepted(responses.ApplicationRequestedOut, {"application": application})


@router.post("/credit-memos/{memo_id}/applications/{application_id}/retry",
             status_code=202, response_model=responses.ApplicationRequestedOut)
def retry_write_back(memo_id: str, application_id: str, db: DB, actor: CurrentActor,
                     request: Request) -> dict[str, views.ApplicationView]:
    """Y12: send a failed write-back again."""
    application = credit.retry_write_back(db, actor=actor, memo_id=memo_id,
                                          application_id=application_id)
    sync_jobs.wake(request.app.state)
    return {"application": application}


@router.get("/credit-memos/{memo_id}/applications",
            response_model=responses.ApplicationPage)
def list_applications(memo_id: str, db: DB,
                      actor: CurrentActor) -> Page[views.ApplicationView]:
    return Page(credit.list_applications(db, actor=actor, memo_id=memo_id), None)


@router.delete("/credit-memos/{memo_id}/applications",
               response_model=responses.RemovedOut | previews.PreviewOut,
               responses={202: {"model": responses.RemovedOut,
                                "description": "Synced credit: removal sent to its system"}})
def remove_credit(memo_id: str, invoice_id: Annotated[str, INVOICE_ID], db: DB,
                  actor: CurrentActor, request: Request,
                  preview_: previews.Flag = False) -> credit.Removed | Response:
    """U1: remove a memo's credit from the memo side; a synced pair's applied credit is
    removed in its system (202 until it answers, Y13)."""
    if preview_:
        return previews.answer(preview.remove(db, actor=actor, memo_id=memo_id,
                                              invoice_id=invoice_id))
    removed = credit.remove_credit(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id)
    if not removed.pending:
        return removed
    sync_jobs.wake(request.app.state)
    return responses.accepted(responses.RemovedOut, removed)


@router.post("/credit-memos/{memo_id}/refunds", status_code=201,
             response_model=responses.RefundedOut, responses={200: previews.ANSWER})
def refund_memo(memo_id: str, body: schemas.RefundIn, db: DB, actor: CurrentActor,
                preview_: previews.Flag = False) -> refunds.Refunded | Response:
    """R1: refund part or all of a native memo's remaining credit (Dr AR / Cr Cash)."""
    if preview_:
        return previews.answer(preview.refund(
            db, actor=actor, memo_id=memo_id, amount=body.amount, method=body.method,
            refunded_at=body.refunded_at, reference=body.reference))
    return refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount=body.amount,
                               method=body.method, refunded_at=body.refunded_at,
                               reference=body.reference)


@router.post("/credit-memos/{memo_id}/refunds/{refund_id}/void",
             response_model=responses.RefundedOut | previews.PreviewOut)
def void_refund(memo_id: str, refund_id: str, db: DB, actor: CurrentActor,
                preview_: previews.Flag = False) -> refunds.Refunded | Response:
    """R2: void a refund: the entry is reversed and the credit returns to the memo."""
    if preview_:
        return previews.answer(preview.void_refund(db, actor=actor, memo_id=memo_id,
                                                   refund_id=refund_id))
    return refunds.void_refund(db, actor=actor, memo_id=memo_id, refund_id=refund_id)
