"""Suggestions page and the suggestion actions of the customer page (P1, G1-G3): refresh,
accept into a draft memo, dismiss. The rules are the services'; the pages show their
refusals next to the form."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.services.read_models import suggestion_pages
from creditdesk.services.suggesting import suggestions
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm, text
from creditdesk.web.dashboard import customers as customer_pages

router = APIRouter()
BACK_TO_CUSTOMER = "customer"
MAX_ID = 40  # ids are shorter (db/models.py ID)


def list_page(request: Request, db: DB, actor, *, customer_id: str = "", reason: str = "",
              refusal: forms.Refusal | None = None) -> Response:
    found = suggestion_pages.open_suggestions(db, actor=actor, customer_id=customer_id or None,
                                              reason=reason or None)
    return templating.render(request, "dashboard/suggestions.html", {
        "sugg": found, "filters": {"customer_id": customer_id, "reason": reason},
        "refusal": customer_pages.placed(refusal, found)},
        status=refusal.status if refusal else 200)


def _filters_url(customer_id: str, reason: str) -> str:
    """The list with the filters the form came from, those that can be filters only (the
    address stays short: a 100,000-character field made a Location no client takes)."""
    kept = {"customer_id": customer_id if 0 < len(customer_id) <= MAX_ID else "",
            "reason": reason if reason in suggestion_pages.REASONS else ""}
    query = urlencode({k: v for k, v in kept.items() if v})
    return "/dashboard/suggestions" + (f"?{query}" if query else "")


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
    """One customer's (``customer_id`` with ``back=customer``) or the whole partner's."""
    only = text(form, "customer_id") if text(form, "back") == BACK_TO_CUSTOMER else ""
    r = suggestions.refresh(db, actor=actor, customer_id=only or None)
    scope = "this customer" if only else f"{r.customers} customer{'s' * (r.customers != 1)}"
    return _back(request, db, actor, form, only,
                 f"Suggestions refreshed for {scope}: {r.open} open, {r.created} new.")


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
