"""Credit suggestions (G1-G3): refresh, list, accept into a draft memo, dismiss."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from creditdesk.services.suggesting import suggestions
from creditdesk.web.api import present, responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute

router = APIRouter(tags=["suggestions"], route_class=DecimalJSONRoute)
STATUSES = filter_query(values=list(suggestions.STATUSES))


def suggestion_out(s: suggestions.SuggestionView) -> dict[str, Any]:
    return {"id": s.id, "customer_id": s.customer_id, "reason": s.reason,
            "amount": present.amount(s.amount), "currency": s.currency,
            "invoice_ids": s.invoice_ids, "confidence": s.confidence,
            "explanation": s.explanation, "status": s.status,
            "credit_memo_id": s.credit_memo_id, "created_at": s.created_at,
            "updated_at": s.updated_at}


@router.post("/suggestions/refresh", response_model=responses.SuggestionRefreshOut)
def refresh(db: DB, actor: CurrentActor,
            body: Annotated[schemas.SuggestionRefreshIn | None, Body()] = None
            ) -> dict[str, Any]:
    """Recompute suggestions for one customer (``customer_id``) or the whole partner."""
    r = suggestions.refresh(db, actor=actor, customer_id=body.customer_id if body else None)
    return {"customers": r.customers, "created": r.created, "updated": r.updated,
            "removed": r.removed, "open": r.open}


@router.get("/suggestions", response_model=responses.SuggestionPage)
def list_suggestions(db: DB, actor: CurrentActor, customer_id: Filter = None,
                     status: Annotated[str | None, STATUSES] = None, limit: Limit = 50,
                     cursor: Cursor = None) -> dict[str, Any]:
    page = suggestions.list_suggestions(db, actor=actor, customer_id=customer_id,
                                        status=status, limit=limit, cursor=cursor)
    return present.page_out(page, suggestion_out)


@router.post("/suggestions/{suggestion_id}/accept", status_code=201,
             response_model=responses.SuggestionAcceptedOut)
def accept(suggestion_id: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    """G3: creates a draft credit memo (nothing is issued or applied)."""
    memo, _ = suggestions.accept(db, actor=actor, suggestion_id=suggestion_id)
    return {"credit_memo": present.memo_out(memo)}


@router.post("/suggestions/{suggestion_id}/dismiss", response_model=responses.SuggestionOut)
def dismiss(suggestion_id: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return suggestion_out(suggestions.dismiss(db, actor=actor, suggestion_id=suggestion_id))
