"""Team Preferences > Preferences > Credit balance visibility (P2), administrators only:
the "Show balance to all customers" toggle and the exceptions (search, add, remove)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.services import customers, visibility
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter(prefix="/preferences")
PAGE = "/dashboard/preferences/credit-balance-visibility"


@router.get("")
@router.get("/")
def preferences(_actor: Admin) -> Response:
    return RedirectResponse(PAGE, status_code=303)


def _render(request: Request, db: DB, actor, q: str = "",
            refusal: forms.Refusal | None = None) -> Response:
    setting = visibility.get_setting(db, actor=actor)
    excepted = {e.customer_id for e in setting.exceptions}
    found = [c for c in customers.list_customers(db, actor=actor, q=q, limit=20).data
             if c.id not in excepted] if q else []
    return templating.render(request, "dashboard/visibility.html", {
        "setting": setting, "q": q, "found": found, "refusal": refusal},
        status=refusal.status if refusal else 200)


@router.get("/credit-balance-visibility")
def visibility_page(request: Request, db: DB, actor: Admin, q: str = "") -> Response:
    return _render(request, db, actor, q.strip())


@router.post("/credit-balance-visibility")
def save_toggle(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    show = text(form, "show_to_all_customers") in ("on", "true", "1")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=show)
    templating.flash(request, "Credit balances are now shown to all customers, except the "
                     "exceptions below." if show else "Credit balances are now hidden from all "
                     "customers, except the exceptions below.")
    return RedirectResponse(PAGE, status_code=303)


@router.post("/credit-balance-visibility/exceptions")
def add_exception(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    try:
        setting = visibility.add_exception(db, actor=actor, customer_id=text(form, "customer_id"))
    except errors.NotFound as exc:
        return _render(request, db, actor, forms.search(form, "q"),
                       forms.refusal("exceptions", exc))
    name = next((e.name for e in setting.exceptions
                 if e.customer_id == text(form, "customer_id")), "The customer")
    templating.flash(request, f"{name} is now an exception.")
    return RedirectResponse(PAGE, status_code=303)


@router.post("/credit-balance-visibility/exceptions/{customer_id}/remove")
def remove_exception(request: Request, db: DB, actor: Admin, customer_id: str,
                     _f: CheckedForm) -> Response:
    try:
        visibility.remove_exception(db, actor=actor, customer_id=customer_id)
    except errors.NotFound as exc:
        return _render(request, db, actor, refusal=forms.refusal("exceptions", exc))
    templating.flash(request, "The exception was removed.")
    return RedirectResponse(PAGE, status_code=303)
