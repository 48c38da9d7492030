"""Customer list and customer page: credit summary per currency with the memos behind it
(S1), invoices, memos, and a Customer Portal sign-in link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from creditdesk.services import customers, pages, portal_links, suggestion_pages
from creditdesk.web import forms, htmx, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm
from creditdesk.web.portal.links import link_url

router = APIRouter()


@router.get("/customers")
def customer_list(request: Request, db: DB, actor: User, q: str = "",
                  cursor: str | None = None) -> Response:
    page = customers.list_customers(db, actor=actor, q=q or None, limit=50,
                                    cursor=cursor or None)
    return templating.render(request, "dashboard/customers.html", {
        "page": page, "q": q, "cursor": cursor},
        block=htmx.wanted_block(request, "customer-results"))


def placed(refusal: forms.Refusal | None,
           found: suggestion_pages.OpenSuggestions) -> forms.Refusal | None:
    """A refusal about a suggestion no longer listed is shown at the top of the list."""
    if refusal is not None and not any(f"s-{r.s.id}" == refusal.form for r in found.rows):
        refusal.form = "suggestions"
    return refusal


def page(request: Request, db: DB, actor, customer_id: str, *,
         refusal: forms.Refusal | None = None, **extra: object) -> Response:
    """The customer page, with its open suggestions; with a refusal, next to its form."""
    p = pages.customer_page(db, actor=actor, customer_id=customer_id)
    found = suggestion_pages.open_suggestions(db, actor=actor, customer_id=customer_id)
    return templating.render(request, "dashboard/customer.html", {
        "p": p, "c": p.customer, "sugg": found, "refusal": placed(refusal, found), **extra},
        status=refusal.status if refusal else 200)


@router.get("/customers/{customer_id}")
def customer_detail(request: Request, db: DB, actor: User, customer_id: str) -> Response:
    return page(request, db, actor, customer_id)


@router.post("/customers/{customer_id}/portal-link")
def portal_link(request: Request, db: DB, actor: User, customer_id: str,
                _f: CheckedForm) -> Response:
    link = portal_links.create_link(db, actor=actor, customer_id=customer_id)
    return page(request, db, actor, customer_id, portal_link=link_url(request, link.token),
                 portal_link_expires=link.expires_at)
