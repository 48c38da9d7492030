"""Suggestions page and the suggestion actions of the customer page (P1, G1-G3): refresh,
accept into a draft memo, dismiss. The rules are the services'; the pages show their
refusals next to the form.

Refreshing one customer happens in the request; refreshing every customer is a run on the
job system (``refresh_runs``), whose progress the page shows and htmx polls
(``/suggestions/refresh-status``); once it is over the page reloads with the new list
(without JavaScript a Refresh link does the same)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.read_models import suggestion_pages
from creditdesk.services.suggesting import refresh_runs, suggestions
from creditdesk.web import forms, htmx, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm, text
from creditdesk.web.dashboard import customers as customer_pages

router = APIRouter()
BACK_TO_CUSTOMER = "customer"
MAX_ID = 40  # ids are shorter (db/models.py ID)
POLL = "1s"
PAGE = "/dashboard/suggestions"


def list_page(request: Request, db: DB, actor, *, customer_id: str = "", reason: str = "",
              refusal: forms.Refusal | None = None) -> Response:
    found = suggestion_pages.open_suggestions(db, actor=actor, customer_id=customer_id or None,
                                              reason=reason or None)
    return templating.render(request, "dashboard/suggestions.html", {
        "sugg": found, "filters": {"customer_id": customer_id, "reason": reason},
        "refusal": customer_pages.placed(refusal, found),
        "run": refresh_runs.latest(db, actor=actor), "poll": POLL,
        "here": _filters_url(customer_id, reason)},  # the Refresh link keeps the filters
        status=refusal.status if refusal else 200)


def _filters_url(customer_id: str, reason: str) -> str:
    """The list with the filters the form came from, those that can be filters only (the
    address stays short: a 100,000-character field made a Location no client takes)."""
    kept = {"customer_id": customer_id if 0 < len(customer_id) <= MAX_ID else "",
            "reason": reason if reason in suggestion_pages.REASONS else ""}
    query = urlencode({k: v for k, v in kept.items() if v})
    return PAGE + (f"?{query}" if query else "")


@router.get("/suggestions")
def suggestion_list(request: Request, db: DB, actor: User, customer_id: str = "",
                    reason: str = "") -> Response:
    return list_page(request, db, actor, customer_id=customer_id, reason=reason)


def _back(request: Request, db: DB, actor, form, customer_id: str, message: str) -> Response:
    templating.flash(request, message)
    if text(form, "back") == BACK_TO_CUSTOMER and customer_id:
        return RedirectResponse(f"/dashboard/customers/{customer_id}", status_code=303)
    return RedirectResponse(_filters_url(text(form, "customer_id"), text(form, "reason")),
                            status_code=303)


def _refused(request: Request, db: DB, actor, form, customer_id: str,
             refusal: forms.Refusal) -> Response:
    if text(form, "back") == BACK_TO_CUSTOMER and customer_id:
        return customer_pages.page(request, db, actor, customer_id, refusal=refusal)
    return list_page(request, db, actor, customer_id=text(form, "customer_id"),
                     reason=text(form, "reason"), refusal=refusal)


@router.post("/suggestions/refresh")
def refresh(request: Request, db: DB, actor: User, form: CheckedForm) -> Response:
    """One customer's (``customer_id`` with ``back=customer``), in the request; or every
    customer's, queued as a run on the job system (the page shows its progress)."""
    only = text(form, "customer_id") if text(form, "back") == BACK_TO_CUSTOMER else ""
    if only:
        r = suggestions.refresh(db, actor=actor, customer_id=only)
        return _back(request, db, actor, form, only,
                     f"Suggestions refreshed for this customer: {r.open} open, {r.created} new.")
    _, new = refresh_runs.start(db, actor=actor)
    sync_jobs.wake(request.app.state)
    return _back(request, db, actor, form, "", (
        "Refreshing suggestions for every customer: the progress shows below, and the list "
        "updates when it is done." if new else "A refresh of every customer's suggestions "
        "is already under way: its progress shows below."))


@router.get("/suggestions/refresh-status")
def refresh_status(request: Request, db: DB, actor: User) -> Response:
    """The run's progress (the fragment the page polls while a run is queued or running).
    Once it is over, htmx reloads the page for the new list; asked for as a page, the page."""
    if not htmx.is_htmx(request):
        return RedirectResponse(PAGE, status_code=303)
    run = refresh_runs.latest(db, actor=actor)
    headers = {"Cache-Control": "no-store"}
    if run is None or not run.active:
        headers["HX-Refresh"] = "true"
    return templating.render(request, "dashboard/suggestion_run.html",
                             {"run": run, "poll": POLL, "here": PAGE}, headers=headers)


def _decide(request: Request, db: DB, actor, suggestion_id: str, form, action: str):
    """The suggestion (404 when not the partner's) and the outcome of ``action``."""
    s = suggestions.get_suggestion(db, actor=actor, suggestion_id=suggestion_id)
    try:
        if action == "accept":
            memo, _ = suggestions.accept(db, actor=actor, suggestion_id=suggestion_id)
            return s, memo, None
        suggestions.dismiss(db, actor=actor, suggestion_id=suggestion_id)
        return s, None, None
    except errors.NotFound:
        raise
    except errors.DomainError as exc:
        return s, None, forms.refusal(f"s-{suggestion_id}", exc)


@router.post("/suggestions/{suggestion_id}/accept")
def accept(request: Request, db: DB, actor: User, suggestion_id: str,
           form: CheckedForm) -> Response:
    """G3: a draft memo only; the memo page opens so it can be reviewed and issued."""
    s, memo, refusal = _decide(request, db, actor, suggestion_id, form, "accept")
    if refusal is not None:
        return _refused(request, db, actor, form, s.customer_id, refusal)
    templating.flash(request, f"Draft credit memo {memo.number} created from the suggestion "
                     f"({templating.money(s.amount)}). Nothing is issued yet: review it, "
                     "then issue it.")
    return RedirectResponse(f"/dashboard/credit-memos/{memo.id}", status_code=303)


@router.post("/suggestions/{suggestion_id}/dismiss")
def dismiss(request: Request, db: DB, actor: User, suggestion_id: str,
            form: CheckedForm) -> Response:
    s, _, refusal = _decide(request, db, actor, suggestion_id, form, "dismiss")
    if refusal is not None:
        return _refused(request, db, actor, form, s.customer_id, refusal)
    return _back(request, db, actor, form, s.customer_id,
                 "Suggestion dismissed: it will not come back for the same evidence.")
