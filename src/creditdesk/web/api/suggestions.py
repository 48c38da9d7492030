"""Credit suggestions (G1-G3): refresh, list, accept into a draft memo, dismiss; and a
partner-wide refresh on the job system with its progress (issue 16)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Request

from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.common.pagination import Page
from creditdesk.services.read_models import views
from creditdesk.services.suggesting import refresh_runs, suggestions
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


@router.post("/suggestions/refresh-runs", status_code=202,
             response_model=responses.SuggestionRunOut)
def start_refresh_run(request: Request, db: DB, actor: CurrentActor) -> refresh_runs.RunView:
    """Refresh every customer's suggestions on the job system; follow its progress with
    ``GET /suggestions/refresh-runs/{id}``. While one is queued or running, that one is
    answered (a partner's suggestions refresh once at a time)."""
    run, _ = refresh_runs.start(db, actor=actor)
    sync_jobs.wake(request.app.state)
    return run


@router.get("/suggestions/refresh-runs", response_model=responses.SuggestionRunPage)
def list_refresh_runs(db: DB, actor: CurrentActor, limit: Limit = 50,
                      cursor: Cursor = None) -> Page[refresh_runs.RunView]:
    return refresh_runs.list_runs(db, actor=actor, limit=limit, cursor=cursor)


@router.get("/suggestions/refresh-runs/{run_id}", response_model=responses.SuggestionRunOut)
def get_refresh_run(run_id: str, db: DB, actor: CurrentActor) -> refresh_runs.RunView:
    return refresh_runs.get_run(db, actor=actor, run_id=run_id)


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
