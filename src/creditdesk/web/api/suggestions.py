"""Credit suggestions (G1-G3): refresh, list, accept into a draft memo, dismiss."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body

from creditdesk.services.common.pagination import Page
from creditdesk.services.read_models import views
from creditdesk.services.suggesting import suggestions
from creditdesk.web.api import responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["suggestions"], route_class=DecimalJSONRoute)
STATUSES = filter_query(values=list(suggestions.STATUSES))


@router.post("/suggestions/refresh", response_model=responses.SuggestionRefreshOut)
def refresh(db: DB, actor: CurrentActor,
            body: Annotated[schemas.SuggestionRefreshIn | None, Body()] = None
            ) -> suggestions.RefreshResult:
    """Recompute suggestions for one customer (``customer_id``) or the whole partner."""
    return suggestions.refresh(db, actor=actor, customer_id=body.customer_id if body else None)


@router.get("/suggestions", response_model=responses.SuggestionPage)
def list_suggestions(db: DB, actor: CurrentActor, customer_id: Filter = None,
                     status: Annotated[str | None, STATUSES] = None, limit: Limit = 50,
                     cursor: Cursor = None) -> Page[suggestions.SuggestionView]:
    return suggestions.list_suggestions(db, actor=actor, customer_id=customer_id,
                                        status=status, limit=limit, cursor=cursor)


@router.post("/suggestions/{suggestion_id}/accept", status_code=201,
             response_model=responses.SuggestionAcceptedOut)
def accept(suggestion_id: str, db: DB, actor: CurrentActor) -> dict[str, views.MemoView]:
    """G3: creates a draft credit memo (nothing is issued or applied)."""
    memo, _ = suggestions.accept(db, actor=actor, suggestion_id=suggestion_id)
    return {"credit_memo": memo}


@router.post("/suggestions/{suggestion_id}/dismiss", response_model=responses.SuggestionOut)
def dismiss(suggestion_id: str, db: DB, actor: CurrentActor) -> suggestions.SuggestionView:
    return suggestions.dismiss(db, actor=actor, suggestion_id=suggestion_id)
