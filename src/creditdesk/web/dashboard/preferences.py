"""Team Preferences > Preferences > Credit balance visibility (P2), administrators only:
the "Show balance to all customers" toggle and the exceptions (search, add, remove).

Each change is confirmed first (P7): its ``…/preview`` route shows which customers would
start or stop seeing credit, by name and count (``services/visibility_preview``), as a
page of its own without JavaScript or in the page's ``#confirmation`` with htmx. Turning the
toggle while there are exceptions flips them too (they get the opposite of the setting):
the confirmation says so by name and offers to save without the exceptions instead."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.services.customer_accounts import customers, visibility
from creditdesk.services.read_models import visibility_preview
from creditdesk.web import forms, htmx, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin
from creditdesk.web.csrf import CheckedForm, text
from creditdesk.web.dashboard import confirm

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


def _flag(form) -> bool:
    return text(form, "show_to_all_customers") in ("on", "true", "1")


def _clearing(form) -> bool:
    return text(form, "clear_exceptions") == "1"


@router.post("/credit-balance-visibility")
def save_toggle(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    show = _flag(form)
    if _clearing(form):
        visibility.replace_setting(db, actor=actor, show_to_all_customers=show, exceptions=[])
        templating.flash(request, "Credit balances are now shown to all customers, with no "
                         "exceptions." if show else "Credit balances are now hidden from all "
                         "customers, with no exceptions.")
        return RedirectResponse(PAGE, status_code=303)
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


# --- P7: who would start or stop seeing credit, before saving ---------------------------

@dataclass
class Choice:
    """One way to save, with who it affects: Confirm posts ``fields`` to ``action``."""

    button: str
    action: str
    audience: visibility_preview.Audience
    fields: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _confirm(request: Request, title: str, choices: list[Choice], note: str = "") -> Response:
    return templating.render(request, "dashboard/visibility_confirm.html", {
        "title": title, "choices": choices, "note": note, "section": "preferences"},
        block=htmx.wanted_block(request, confirm.TARGET))


@router.post("/credit-balance-visibility/preview")
def toggle_preview(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    show = _flag(form)
    now = visibility.get_setting(db, actor=actor)
    value = {"show_to_all_customers": "on" if show else "off"}
    plain = Choice("Save", PAGE, visibility_preview.show_to_all(
        db, actor=actor, value=show), value)
    title = ("Show credit balances to all customers?" if show
             else "Hide credit balances from all customers?")
    if show == now.show_to_all_customers or not now.exceptions:
        return _confirm(request, title, [plain])
    # The flip the page used to make silently: the exceptions get the opposite of the new
    # setting, so each of them changes too. Said by name, with the other way to save.
    names = ", ".join(e.name for e in now.exceptions[:10])
    more = len(now.exceptions) - 10
    plain.note = (f"The {len(now.exceptions)} exceptions ({names}"
                  f"{f' and {more} more' if more > 0 else ''}) keep getting the opposite of "
                  "the setting, so they " + ("stop" if show else "start") + " seeing credit.")
    plain.button = "Save and keep the exceptions"
    cleared = Choice("Save and remove the exceptions", PAGE, visibility_preview.show_to_all(
        db, actor=actor, value=show, clear_exceptions=True), {**value, "clear_exceptions": "1"},
        note="Every customer then gets the setting, with no exceptions.")
    return _confirm(request, title, [plain, cleared])


@router.post("/credit-balance-visibility/exceptions/preview")
def add_exception_preview(request: Request, db: DB, actor: Admin,
                          form: CheckedForm) -> Response:
    customer_id = text(form, "customer_id")
    try:
        audience = visibility_preview.add_exception(db, actor=actor, customer_id=customer_id)
    except errors.NotFound as exc:
        return confirm.in_place_of_page(request, _render(
            request, db, actor, forms.search(form, "q"), forms.refusal("exceptions", exc)))
    name = next((e.name for e in audience.setting.exceptions if e.customer_id == customer_id),
                "the customer")
    return _confirm(request, f"Make {name} an exception?", [Choice(
        "Add the exception", f"{PAGE}/exceptions", audience,
        {"customer_id": customer_id, "q": forms.search(form, "q")})])


@router.post("/credit-balance-visibility/exceptions/{customer_id}/remove/preview")
def remove_exception_preview(request: Request, db: DB, actor: Admin, customer_id: str,
                             _f: CheckedForm) -> Response:
    now = visibility.get_setting(db, actor=actor)
    try:
        audience = visibility_preview.remove_exception(db, actor=actor,
                                                       customer_id=customer_id)
    except errors.NotFound as exc:
        return confirm.in_place_of_page(request, _render(
            request, db, actor, refusal=forms.refusal("exceptions", exc)))
    name = next((e.name for e in now.exceptions if e.customer_id == customer_id),
                "the customer")
    return _confirm(request, f"Remove {name} from the exceptions?", [Choice(
        "Remove the exception", f"{PAGE}/exceptions/{customer_id}/remove", audience)])
