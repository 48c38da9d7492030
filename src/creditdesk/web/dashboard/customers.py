"""Customer list and customer page: credit summary per currency with the memos behind it
(S1), invoices, memos, a Customer Portal sign-in link, and the customer's sources (Y10):
linking (merging) another customer into it and unlinking a source, each confirmed first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.services.access import portal_links
from creditdesk.services.customer_accounts import customer_sources, customers
from creditdesk.services.read_models import audit_trail, pages, suggestion_pages
from creditdesk.web import forms, htmx, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm, text
from creditdesk.web.portal.links import link_url

router = APIRouter()


@router.get("/customers")
def customer_list(request: Request, db: DB, actor: User, q: str = "",
                  cursor: str | None = None) -> Response:
    page = customers.list_customers(db, actor=actor, q=q or None, limit=50,
                                    cursor=cursor or None)
    return templating.render(request, "dashboard/customers.html", {
        "page": page, "q": q, "cursor": cursor, "rule": customer_sources.EMAIL_RULE},
        block=htmx.wanted_block(request, "customer-results"))


def placed(refusal: forms.Refusal | None,
           found: suggestion_pages.OpenSuggestions) -> forms.Refusal | None:
    """A refusal about a suggestion no longer listed is shown at the top of the list."""
    if refusal is not None and not any(f"s-{r.s.id}" == refusal.form for r in found.rows):
        refusal.form = "suggestions"
    return refusal


def page(request: Request, db: DB, actor, customer_id: str, *,
         refusal: forms.Refusal | None = None, merge_q: str = "",
         **extra: object) -> Response:
    """The customer page, with its open suggestions and, for admins, the customers that
    could be merged into it; with a refusal, next to its form."""
    p = pages.customer_page(db, actor=actor, customer_id=customer_id)
    found = suggestion_pages.open_suggestions(db, actor=actor, customer_id=customer_id)
    candidates = (customer_sources.merge_candidates(db, actor=actor, customer_id=customer_id,
                                                    q=merge_q or None)
                  if actor.role == "admin" else [])
    trail = audit_trail.list_events(db, actor=actor, entity_type="customer", entity_id=customer_id,
                              limit=20).data
    history = [(e.at, e.actor, history_line(e.action, e.data)) for e in trail]
    return templating.render(request, "dashboard/customer.html", {
        "p": p, "c": p.customer, "sugg": found, "refusal": placed(refusal, found),
        "rule": customer_sources.EMAIL_RULE, "candidates": candidates, "merge_q": merge_q,
        "history": history,
        **extra}, status=refusal.status if refusal else 200)


@router.get("/customers/{customer_id}")
def customer_detail(request: Request, db: DB, actor: User, customer_id: str,
                    merge_q: str = "") -> Response:
    return page(request, db, actor, customer_id, merge_q=merge_q)


def moved_words(moved: dict[str, object]) -> str:
    """What moved, in words: "2 credit memos, 1 invoice and the source Xero g-61"."""
    parts = []
    for key, (one, many) in _KINDS.items():
        n = moved.get(key)
        if isinstance(n, int) and n:
            parts.append(f"{n} {one if n == 1 else many}")
    refs = moved.get("references")
    if isinstance(refs, list) and refs:
        parts.append(("the source " if len(refs) == 1 else "the sources ")
                     + ", ".join(str(r) for r in refs))
    if not parts:
        return "nothing else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


_KINDS = {"credit_memos": ("credit memo", "credit memos"), "invoices": ("invoice", "invoices"),
          "suggestions": ("suggestion", "suggestions"),
          "portal_links": ("portal sign-in link", "portal sign-in links"),
          "portal_sessions": ("portal session", "portal sessions")}


def history_line(action: str, data: dict) -> str:
    """One entry of the customer's audit trail (E1) in words, naming what moved."""
    system = templating.source_name(str(data.get("source", "")))
    moved = data.get("moved") if isinstance(data.get("moved"), dict) else {}
    if action == "customer.create":
        return "Created in CreditDesk"
    if action == "customer.sync_create":
        return f"Created by sync from {system} (id {data.get('external_id')})"
    if action == "customer.sync_link":
        return (f"{system} record {data.get('external_id')} ({data.get('name')}) linked: "
                "same billing email")
    if action == "customer.merge":
        return f"Merged {data.get('merged_name')} into this customer: moved {moved_words(moved)}"
    if action == "customer.unlink":
        return (f"Unlinked {data.get('reference')}: it moved to a new customer, "
                f"{data.get('new_name')}, with {moved_words(moved)}")
    if action == "customer.create_from_reference":
        return (f"Created from {data.get('reference')}, unlinked from {data.get('from_name')}, "
                f"with {moved_words(moved)}")
    return templating.label(action.split(".")[-1])


@router.post("/customers/{customer_id}/merge")
def merge(request: Request, db: DB, actor: User, customer_id: str,
          form: CheckedForm) -> Response:
    """Y10: without ``confirm``, the confirmation (the merge previewed); with it, the merge."""
    merged_id, confirmed = text(form, "customer_id"), text(form, "confirm") == "yes"
    try:
        outcome = customer_sources.merge(db, actor=actor, customer_id=customer_id,
                                         merged_customer_id=merged_id, preview=not confirmed)
    except errors.DomainError as exc:
        return page(request, db, actor, customer_id, merge_q=forms.search(form, "merge_q"),
                    refusal=forms.refusal("merge", exc, {"customer_id": merged_id}))
    if not confirmed:
        return page(request, db, actor, customer_id, confirm_merge=outcome,
                    merged_id=merged_id, moved_words=moved_words(outcome.moved))
    templating.flash(request, f"Merged {outcome.other} into {outcome.customer.name}: moved "
                     f"{moved_words(outcome.moved)}.")
    return RedirectResponse(f"/dashboard/customers/{customer_id}", status_code=303)


@router.post("/customers/{customer_id}/references/{reference_id}/unlink")
def unlink(request: Request, db: DB, actor: User, customer_id: str, reference_id: str,
           form: CheckedForm) -> Response:
    """Y10: without ``confirm``, the confirmation (the unlink previewed); with it, the
    unlink: the source moves to a new customer."""
    confirmed = text(form, "confirm") == "yes"
    try:
        outcome = customer_sources.unlink(db, actor=actor, customer_id=customer_id,
                                          reference_id=reference_id, preview=not confirmed)
    except errors.DomainError as exc:
        return page(request, db, actor, customer_id, refusal=forms.refusal("unlink", exc))
    if not confirmed:
        return page(request, db, actor, customer_id, confirm_unlink=outcome,
                    reference_id=reference_id, moved_words=moved_words(outcome.moved))
    templating.flash(request, f"Unlinked {outcome.reference} from {outcome.other}: it now "
                     f"belongs to a new customer, {outcome.customer.name}, with "
                     f"{moved_words(outcome.moved)}.")
    return RedirectResponse(f"/dashboard/customers/{customer_id}", status_code=303)


@router.post("/customers/{customer_id}/portal-link")
def portal_link(request: Request, db: DB, actor: User, customer_id: str,
                _f: CheckedForm) -> Response:
    link = portal_links.create_link(db, actor=actor, customer_id=customer_id)
    return page(request, db, actor, customer_id, portal_link=link_url(request, link.token),
                 portal_link_expires=link.expires_at)
