"""Team Preferences > Preferences, administrators only: the preferences with per-customer
exceptions, each a page of its own with its toggle and its exceptions (search, add,
remove) — "Show balance to all customers" (credit balance visibility, P2), "Customers
may apply their credit in the portal" (P5) and "Apply available credit to new invoices"
(AU1).

Each change is confirmed first (P7): its ``…/preview`` route shows which customers would
start or stop seeing credit (or being able to apply it), by name and count
(``services/visibility_preview``), as a page of its own without JavaScript or in the page's
``#confirmation`` with htmx. Turning the toggle while there are exceptions flips them too
(they get the opposite of the setting): the confirmation says so by name and offers to save
without the exceptions instead."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.services.customer_accounts import customers, per_customer
from creditdesk.services.read_models import visibility_preview
from creditdesk.web import forms, htmx, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin
from creditdesk.web.csrf import CheckedForm, text
from creditdesk.web.dashboard import confirm

router = APIRouter(prefix="/preferences")
ROOT = "/dashboard/preferences"


@dataclass(frozen=True)
class Page:
    """One preference's page: where it is, what it is called, and its words."""

    slug: str  # its path under Preferences
    key: str  # the prefix of its elements' ids
    subject: visibility_preview.Subject
    title: str
    intro: str
    toggle: str  # the checkbox's label
    what: str  # "credit is": what the state below says something of
    state: tuple[str, str]  # what the setting means now: (on, off)
    excepted: tuple[str, str]  # what the exceptions get: (setting on, setting off)
    question: tuple[str, str]  # the confirmation's title: (turning on, turning off)
    done: tuple[str, str]  # the notice after saving: (on, off)
    start: str  # "start seeing their credit"
    stop: str
    who: str  # the confirmation's lead: who is reached after saving
    flips: tuple[str, str]  # what the exceptions do when the toggle turns (on, off)
    nobody: str = "Nobody's portal changes."  # the confirmation when nobody changes

    @property
    def path(self) -> str:
        return f"{ROOT}/{self.slug}"


VISIBILITY = Page(
    "credit-balance-visibility", "visibility", visibility_preview.VISIBILITY,
    "Credit balance visibility",
    "Decide whether customers see their credit memos and available credit in the Customer "
    "Portal. The Partner Dashboard always shows everything.",
    "Show balance to all customers", "credit is",
    ("shown to all customers except the exceptions",
     "hidden from all customers except the exceptions"),
    ("their credit is <strong>hidden</strong>", "their credit is <strong>shown</strong>"),
    ("Show credit balances to all customers?", "Hide credit balances from all customers?"),
    ("Credit balances are now shown to all customers", "Credit balances are now hidden from "
     "all customers"),
    "start seeing their credit", "stop seeing their credit",
    "Who sees credit in the Customer Portal after saving:",
    ("stop seeing credit", "start seeing credit"))
PORTAL_CREDIT = Page(
    "portal-credit-application", "portal-credit", visibility_preview.PORTAL_CREDIT,
    "Customers may apply their credit in the portal",
    "Decide whether customers may apply their available credit to their open invoices "
    "themselves, in the Customer Portal. They see the effect first and confirm; each "
    "application is recorded as theirs. Only customers who see their credit (Credit "
    "balance visibility) can apply it.",
    "Customers may apply their credit in the portal", "applying credit in the portal is",
    ("allowed for all customers except the exceptions",
     "not allowed, except for the exceptions"),
    ("they <strong>may not</strong> apply their credit",
     "they <strong>may</strong> apply their credit (when they see it)"),
    ("Let customers apply their credit in the portal?",
     "Stop customers applying their credit in the portal?"),
    ("Customers may now apply their credit in the portal", "Customers may no longer apply "
     "their credit in the portal"),
    "be able to apply their credit", "no longer be able to apply their credit",
    "Who may apply their credit in the Customer Portal after saving:",
    ("can no longer apply their credit", "can apply their credit (when they see it)"))
AUTO_APPLY = Page(
    "auto-apply", "auto-apply", visibility_preview.AUTO_APPLY,
    "Apply available credit to new invoices",
    "When an invoice is issued, apply the customer's available credit in the invoice's "
    "currency to it at once: CreditDesk credit memos only (never credit synced from your "
    "accounting system), oldest memo first, up to the balance due. Each such application "
    "is marked automatic and can be removed like any other.",
    "Apply available credit to new invoices", "applying credit to new invoices is",
    ("on for all customers except the exceptions", "off, except for the exceptions"),
    ("their credit is <strong>not</strong> applied to new invoices",
     "their credit <strong>is</strong> applied to new invoices"),
    ("Apply available credit to new invoices?",
     "Stop applying available credit to new invoices?"),
    ("Available credit is now applied to new invoices", "Available credit is no longer "
     "applied to new invoices"),
    "have their credit applied to new invoices",
    "no longer have their credit applied to new invoices",
    "Whose credit is applied to their new invoices after saving:",
    ("no longer have their credit applied", "have their credit applied"),
    "Nobody's new invoices change.")
PAGES = (VISIBILITY, PORTAL_CREDIT, AUTO_APPLY)


@router.get("")
@router.get("/")
def preferences(_actor: Admin) -> Response:
    return RedirectResponse(VISIBILITY.path, status_code=303)


@dataclass
class Choice:
    """One way to save, with who it affects: Confirm posts ``fields`` to ``action``."""

    button: str
    action: str
    audience: visibility_preview.Audience
    fields: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _routes(page: Page) -> None:
    """The page, its changes and their confirmations (P7), at ``page.path``."""
    kind, subject, slug = page.subject.kind, page.subject, f"/{page.slug}"

    def render(request: Request, db: DB, actor, q: str = "",
               refusal: forms.Refusal | None = None) -> Response:
        setting = per_customer.get(db, kind, actor=actor)
        excepted = {e.customer_id for e in setting.exceptions}
        found = [c for c in customers.list_customers(db, actor=actor, q=q, limit=20).data
                 if c.id not in excepted] if q else []
        return templating.render(request, "dashboard/customer_preference.html", {
            "pg": page, "pages": PAGES, "setting": setting, "q": q, "found": found,
            "refusal": refusal}, status=refusal.status if refusal else 200)

    def confirm_page(request: Request, title: str, choices: list[Choice]) -> Response:
        return templating.render(request, "dashboard/visibility_confirm.html", {
            "pg": page, "title": title, "choices": choices, "section": "preferences"},
            block=htmx.wanted_block(request, confirm.TARGET))

    def flag(form) -> bool:
        return text(form, page.subject.kind.field) in ("on", "true", "1")

    @router.get(slug)
    def show(request: Request, db: DB, actor: Admin, q: str = "") -> Response:
        return render(request, db, actor, q.strip())

    @router.post(slug)
    def save_toggle(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
        on = flag(form)
        clearing = text(form, "clear_exceptions") == "1"
        if clearing:
            per_customer.replace(db, kind, actor=actor, flag=on, exceptions=[])
        else:
            per_customer.set_value(db, kind, actor=actor, flag=on)
        templating.flash(request, page.done[0 if on else 1] + (
            ", with no exceptions." if clearing else ", except the exceptions below."))
        return RedirectResponse(page.path, status_code=303)

    @router.post(slug + "/exceptions")
    def add_exception(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
        customer_id = text(form, "customer_id")
        try:
            setting = per_customer.add_exception(db, kind, actor=actor, customer_id=customer_id)
        except errors.NotFound as exc:
            return render(request, db, actor, forms.search(form, "q"),
                          forms.refusal("exceptions", exc))
        name = next((e.name for e in setting.exceptions if e.customer_id == customer_id),
                    "The customer")
        templating.flash(request, f"{name} is now an exception.")
        return RedirectResponse(page.path, status_code=303)

    @router.post(slug + "/exceptions/{customer_id}/remove")
    def remove_exception(request: Request, db: DB, actor: Admin, customer_id: str,
                         _f: CheckedForm) -> Response:
        try:
            per_customer.remove_exception(db, kind, actor=actor, customer_id=customer_id)
        except errors.NotFound as exc:
            return render(request, db, actor, refusal=forms.refusal("exceptions", exc))
        templating.flash(request, "The exception was removed.")
        return RedirectResponse(page.path, status_code=303)

    # --- P7: who would start or stop, before saving -------------------------------------

    @router.post(slug + "/preview")
    def toggle_preview(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
        on = flag(form)
        now = per_customer.get(db, kind, actor=actor)
        value = {kind.field: "on" if on else "off"}
        plain = Choice("Save", page.path, visibility_preview.show_to_all(
            db, actor=actor, value=on, subject=subject), value)
        title = page.question[0 if on else 1]
        if on == now.value or not now.exceptions:
            return confirm_page(request, title, [plain])
        # The flip the page used to make silently: the exceptions get the opposite of the
        # new setting, so each of them changes too. Said by name, with the other way to save.
        names = ", ".join(e.name for e in now.exceptions[:10])
        more = len(now.exceptions) - 10
        plain.note = (f"The {len(now.exceptions)} exceptions ({names}"
                      f"{f' and {more} more' if more > 0 else ''}) keep getting the opposite "
                      "of the setting, so they " + page.flips[0 if on else 1] + ".")
        plain.button = "Save and keep the exceptions"
        cleared = Choice("Save and remove the exceptions", page.path,
                         visibility_preview.show_to_all(db, actor=actor, value=on,
                                                        clear_exceptions=True, subject=subject),
                         {**value, "clear_exceptions": "1"},
                         note="Every customer then gets the setting, with no exceptions.")
        return confirm_page(request, title, [plain, cleared])

    @router.post(slug + "/exceptions/preview")
    def add_exception_preview(request: Request, db: DB, actor: Admin,
                              form: CheckedForm) -> Response:
        customer_id = text(form, "customer_id")
        try:
            audience = visibility_preview.add_exception(db, actor=actor, customer_id=customer_id,
                                                        subject=subject)
        except errors.NotFound as exc:
            return confirm.in_place_of_page(request, render(
                request, db, actor, forms.search(form, "q"), forms.refusal("exceptions", exc)))
        name = next((e.name for e in audience.setting.exceptions
                     if e.customer_id == customer_id), "the customer")
        return confirm_page(request, f"Make {name} an exception?", [Choice(
            "Add the exception", f"{page.path}/exceptions", audience,
            {"customer_id": customer_id, "q": forms.search(form, "q")})])

    @router.post(slug + "/exceptions/{customer_id}/remove/preview")
    def remove_exception_preview(request: Request, db: DB, actor: Admin, customer_id: str,
                                 _f: CheckedForm) -> Response:
        now = per_customer.get(db, kind, actor=actor)
        try:
            audience = visibility_preview.remove_exception(db, actor=actor,
                                                           customer_id=customer_id,
                                                           subject=subject)
        except errors.NotFound as exc:
            return confirm.in_place_of_page(request, render(
                request, db, actor, refusal=forms.refusal("exceptions", exc)))
        name = next((e.name for e in now.exceptions if e.customer_id == customer_id),
                    "the customer")
        return confirm_page(request, f"Remove {name} from the exceptions?", [Choice(
            "Remove the exception", f"{page.path}/exceptions/{customer_id}/remove", audience)])


for _page in PAGES:
    _routes(_page)
