"""E3 for the pages, fuzzed: every form POST of the dashboard, the portal and sign-in, and
every page's query parameters, get hostile values (superscript and other non-ASCII digits,
5,000-digit and out-of-range numbers, negatives, NaN/Infinity, empty, very long text, NUL,
a field sent twice, fields left out). No answer is a 5xx; a refused form is the page again
with the message next to that form (only a missing or forbidden thing in the address gets
the error page); a refusal changes nothing; and the app answers the next request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from creditdesk.connectors import registry
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.access import portal_links, users
from creditdesk.services.books import qbwc_setup
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import approvals, credit, refunds
from creditdesk.services.customer_accounts import portal_credit_setting, visibility
from creditdesk.services.suggesting import suggestions
from tests import factories
from tests.services.test_suggestions import duplicated_plan
from tests.web.conftest import Browser, portal_for
from tests.web.page_routes import page_routes

pytestmark = pytest.mark.slow

HOSTILE = [
    "", " ", "0", "-1", "-0", "\u00b2", "\u0663", "\uff11\uff12", "\u2167", "9" * 5000,
    "9223372036854775808", "-9223372036854775809", "99999999999999999999.99", "1e999",
    "NaN", "Infinity", "-Infinity", "0x1F", "1_000", "1,000.00", "0.001", "\x00", "a\x00b",
    "x" * 100_000, "<script>alert(1)</script>", "' OR 1=1 --", "\u202e", "../..", "%00",
    "null", "[]", "{}", "true",
]
IN_ADDRESS = [v[:8000] for v in HOSTILE]  # an address holds less (servers refuse ~8 KiB+)
FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40),
                   st.from_regex(r"[-+]?[0-9]{1,30}(\.[0-9]{0,30})?([eE][-+]?[0-9]{1,4})?",
                                 fullmatch=True))
field_values = st.one_of(values, st.lists(values, min_size=2, max_size=3))  # sent repeatedly
address_values = field_values.map(lambda v: [x[:8000] for x in v] if isinstance(v, list)
                                  else v[:8000])

MEMO = ("customer", "customer_id", "reason", "amount", "invoice_number", "issue_date", "notes",
        "line_count", "add_line", "line-0-description", "line-0-quantity",
        "line-0-unit_price", "line-0-variant_id", "line-1-quantity", "line-1-unit_price",
        "line-0-tax_rate_id", "tax_inclusive")
SUGGESTION = ("back", "customer_id", "reason")


def _preference_forms(slug: str, flag: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """A preference with per-customer exceptions (P2, P5): its toggle, its exceptions, and
    the confirmation step of each (P7)."""
    base = f"/dashboard/preferences/{slug}"
    remove = base + "/exceptions/{customer_id}/remove"
    return {base: (base, (flag, "clear_exceptions")),
            base + "/preview": (base + "/preview", (flag,)),
            base + "/exceptions/preview": (base + "/exceptions/preview", ("customer_id", "q")),
            remove + "/preview": (base + "/exceptions/{customer}/remove/preview", ()),
            base + "/exceptions": (base + "/exceptions", ("customer_id", "q")),
            remove: (base + "/exceptions/{customer}/remove", ())}


# Every form POST of the pages: its address (ids from the world below) and its fields.
REFUND = ("amount", "method", "refunded_at", "reference")
FORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "/dashboard/credit-memos/new": ("/dashboard/credit-memos/new", MEMO),
    # T1: a tax rate, simple or of components
    "/dashboard/preferences/tax-rates": ("/dashboard/preferences/tax-rates", (
        "name", "rate", "component-0-name", "component-0-rate", "component-1-rate")),
    "/dashboard/credit-memos/{memo_id}/edit": ("/dashboard/credit-memos/{draft}/edit", MEMO),
    # D1, D2: send a memo (recipients first), the profile, the logo and the SMTP settings
    "/dashboard/credit-memos/{memo_id}/send": ("/dashboard/credit-memos/{issued}/send",
                                               ("to",)),
    "/dashboard/preferences/profile": ("/dashboard/preferences/profile",
                                       ("legal_name", "address", "email", "phone")),
    "/dashboard/preferences/logo": ("/dashboard/preferences/logo", ("logo",)),
    "/dashboard/preferences/logo/remove": ("/dashboard/preferences/logo/remove", ()),
    "/dashboard/preferences/email": ("/dashboard/preferences/email", (
        "host", "port", "security", "username", "password", "from_address")),
    "/dashboard/credit-memos/{memo_id}/issue": ("/dashboard/credit-memos/{draft}/issue", ()),
    "/dashboard/credit-memos/{memo_id}/apply": ("/dashboard/credit-memos/{issued}/apply",
                                                ("invoice_id", "amount", "invoice_q")),
    "/dashboard/credit-memos/{memo_id}/applications/{invoice_id}/remove": (
        "/dashboard/credit-memos/{applied}/applications/{invoice}/remove", ()),
    "/dashboard/credit-memos/{memo_id}/void": ("/dashboard/credit-memos/{issued}/void",
                                               ("reason",)),
    "/dashboard/credit-memos/{memo_id}/delete": ("/dashboard/credit-memos/{draft}/delete", ()),
    # R1, R2: refund from the memo page and void a refund, each with its confirmation step
    "/dashboard/credit-memos/{memo_id}/refund": ("/dashboard/credit-memos/{issued}/refund",
                                                 REFUND),
    "/dashboard/credit-memos/{memo_id}/refund/preview": (
        "/dashboard/credit-memos/{issued}/refund/preview", REFUND),
    "/dashboard/credit-memos/{memo_id}/refunds/{refund_id}/void": (
        "/dashboard/credit-memos/{refunded}/refunds/{refund}/void", ()),
    "/dashboard/credit-memos/{memo_id}/refunds/{refund_id}/void/preview": (
        "/dashboard/credit-memos/{refunded}/refunds/{refund}/void/preview", ()),
    # P6: the confirmation step of each action above.
    "/dashboard/credit-memos/{memo_id}/issue/preview": (
        "/dashboard/credit-memos/{draft}/issue/preview", ()),
    "/dashboard/credit-memos/{memo_id}/apply/preview": (
        "/dashboard/credit-memos/{issued}/apply/preview", ("invoice_id", "amount", "invoice_q")),
    "/dashboard/credit-memos/{memo_id}/applications/{invoice_id}/remove/preview": (
        "/dashboard/credit-memos/{applied}/applications/{invoice}/remove/preview", ()),
    "/dashboard/credit-memos/{memo_id}/void/preview": (
        "/dashboard/credit-memos/{issued}/void/preview", ("reason",)),
    "/dashboard/invoices/{invoice_id}/credits/{memo_id}/remove/preview": (
        "/dashboard/invoices/{invoice}/credits/{applied}/remove/preview", ()),
    "/dashboard/invoices/{invoice_id}/credits/{memo_id}/remove": (
        "/dashboard/invoices/{invoice}/credits/{applied}/remove", ()),
    # Y11: apply from the invoice side (confirmation first); retry a failed write-back
    "/dashboard/invoices/{invoice_id}/apply/preview": (
        "/dashboard/invoices/{invoice}/apply/preview", ("memo_id", "amount")),
    "/dashboard/invoices/{invoice_id}/apply": ("/dashboard/invoices/{invoice}/apply",
                                               ("memo_id", "amount")),
    "/dashboard/credit-memos/{memo_id}/applications/{application_id}/retry": (
        "/dashboard/credit-memos/{applied}/applications/{application}/retry", ()),
    "/dashboard/invoices/{invoice_id}/credit-memos": (
        "/dashboard/invoices/{invoice}/credit-memos",
        ("reason", "notes", "line_count", "line-0-selected", "line-0-quantity",
         "line-0-invoice_line_id", "line-1-selected", "line-1-quantity")),
    "/dashboard/customers/{customer_id}/portal-link": (
        "/dashboard/customers/{customer}/portal-link", ()),
    "/dashboard/customers/{customer_id}/merge": (
        "/dashboard/customers/{customer}/merge", ("customer_id", "confirm", "merge_q")),
    "/dashboard/customers/{customer_id}/references/{reference_id}/unlink": (
        "/dashboard/customers/{synced_customer}/references/{reference}/unlink", ("confirm",)),
    **_preference_forms("credit-balance-visibility", "show_to_all_customers"),  # P2, P7
    **_preference_forms("portal-credit-application", "enabled"),  # P5
    **_preference_forms("auto-apply", "enabled"),  # AU1
    # I3 with AU1 from the invoice page: its confirmation first (P6)
    "/dashboard/invoices/{invoice_id}/issue/preview": (
        "/dashboard/invoices/{draft_invoice}/issue/preview", ()),
    "/dashboard/invoices/{invoice_id}/issue": ("/dashboard/invoices/{draft_invoice}/issue", ()),
    # AP1: request, decide (approve or reject), thresholds
    "/dashboard/credit-memos/{memo_id}/approval-requests": (
        "/dashboard/credit-memos/{draft}/approval-requests", ("comment",)),
    "/dashboard/credit-memos/{memo_id}/approval-requests/{request_id}/decide": (
        "/dashboard/credit-memos/{draft}/approval-requests/{approval}/decide",
        ("comment", "decision")),
    "/dashboard/preferences/approvals": ("/dashboard/preferences/approvals",
                                         ("currency", "amount")),
    "/dashboard/preferences/approvals/{currency}/remove": (
        "/dashboard/preferences/approvals/USD/remove", ()),
    # G5: record an incident; set or remove an SLA policy
    "/dashboard/incidents": ("/dashboard/incidents", (
        "started_at", "ended_at", "description", "customer_ids", "variant_ids")),
    "/dashboard/incidents/sla": ("/dashboard/incidents/sla", (
        "variant_id", "availability_promised", "band-0-below", "band-0-credit_percent",
        "band-1-below")),
    "/dashboard/incidents/sla/remove": ("/dashboard/incidents/sla/remove", ("variant_id",)),
    "/dashboard/suggestions/refresh": ("/dashboard/suggestions/refresh", SUGGESTION),
    "/dashboard/suggestions/{suggestion_id}/accept": (
        "/dashboard/suggestions/{suggestion}/accept", SUGGESTION),
    "/dashboard/suggestions/{suggestion_id}/dismiss": (
        "/dashboard/suggestions/{suggestion}/dismiss", SUGGESTION),
    "/dashboard/integrations/connect": ("/dashboard/integrations/connect",
                                        ("provider", "region")),
    "/dashboard/integrations/connect-with-credentials": (
        "/dashboard/integrations/connect-with-credentials",
        ("provider", *registry.INTACCT_FIELDS)),
    "/dashboard/integrations/connect-desktop": ("/dashboard/integrations/connect-desktop", ()),
    "/dashboard/integrations/{integration_id}/sync": (
        "/dashboard/integrations/{integration}/sync", ()),
    "/dashboard/integrations/{integration_id}/resume": (
        "/dashboard/integrations/{integration}/resume", ()),
    "/dashboard/integrations/{integration_id}/remove": (
        "/dashboard/integrations/{integration}/remove", ()),
    "/dashboard/integrations/{integration_id}/disconnect": (
        "/dashboard/integrations/{integration}/disconnect", ()),
    "/dashboard/account/password": ("/dashboard/account/password",
                                    ("current_password", "new_password", "confirm_password")),
    "/dashboard/account/sign-out-everywhere": ("/dashboard/account/sign-out-everywhere", ()),
    "/dashboard/users": ("/dashboard/users", ("email", "role", "password")),
    "/dashboard/users/{user_id}/role": ("/dashboard/users/{user}/role", ("role",)),
    "/dashboard/users/{user_id}/deactivate": ("/dashboard/users/{user}/deactivate", ()),
    "/dashboard/users/{user_id}/reactivate": ("/dashboard/users/{user}/reactivate", ()),
    "/dashboard/users/{user_id}/end-sessions": ("/dashboard/users/{user}/end-sessions", ()),
    # D4: webhook endpoints (add, rotate, delete) and replay of an event
    "/dashboard/webhooks": ("/dashboard/webhooks", ("url", "events", "all")),
    "/dashboard/webhooks/{endpoint_id}/rotate": ("/dashboard/webhooks/{endpoint}/rotate", ()),
    "/dashboard/webhooks/{endpoint_id}/delete": ("/dashboard/webhooks/{endpoint}/delete", ()),
    "/dashboard/webhooks/events/{event_id}/redeliver": (
        "/dashboard/webhooks/events/{event}/redeliver", ()),
    "/login": ("/login", ("email", "password", "next")),
    "/logout": ("/logout", ()),
    "/portal/sign-in/{token}": ("/portal/sign-in/{token}", ()),
    "/portal/sign-out": ("/portal/sign-out", ()),
    # P5: the customer applies its credit (allowed in the world below), effect first.
    "/portal/invoices/{invoice_id}/apply-credit/preview": (
        "/portal/invoices/{invoice}/apply-credit/preview", ("credit_memo_id", "amount")),
    "/portal/invoices/{invoice_id}/apply-credit": (
        "/portal/invoices/{invoice}/apply-credit", ("credit_memo_id", "amount")),
}
# Every page's address with real ids (its query parameters come from the route itself).
PAGES = {
    "/dashboard/credit-memos/{memo_id}": "/dashboard/credit-memos/{issued}",
    "/dashboard/credit-memos/{memo_id}/edit": "/dashboard/credit-memos/{draft}/edit",
    "/dashboard/credit-memos/{memo_id}/send": "/dashboard/credit-memos/{issued}/send",  # D2
    "/dashboard/credit-memos/{memo_id}/pdf": "/dashboard/credit-memos/{issued}/pdf",  # D1
    "/portal/credit-memos/{memo_id}/pdf": "/portal/credit-memos/{issued}/pdf",  # D1
    "/dashboard/customers/{customer_id}": "/dashboard/customers/{customer}",
    "/dashboard/integrations/{integration_id}/qwc": "/dashboard/integrations/{integration}/qwc",
    "/dashboard/integrations/{integration_id}/sync-status":
        "/dashboard/integrations/{integration}/sync-status",
    "/dashboard/invoices/{invoice_id}": "/dashboard/invoices/{invoice}",
    "/dashboard/invoices/{invoice_id}/credit-memos/new":
        "/dashboard/invoices/{invoice}/credit-memos/new",
    "/portal/invoices/{invoice_id}": "/portal/invoices/{invoice}",
    "/portal/sign-in/{token}": "/portal/sign-in/{token}",
}


@dataclass
class World:
    db: Database
    actor: Actor
    ids: dict[str, str]
    admin: Browser
    new_browser: Callable[[], Browser]

    def browser_for(self, path: str) -> Browser:
        if path.startswith("/portal"):
            return portal_for(self.db, self.new_browser, self.actor, self.ids["customer"])
        return self.new_browser() if path == "/login" else self.admin


@pytest.fixture
def world(db: Database, actor: Actor, admin: Browser, new_browser) -> World:
    cid, _dup = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [suggestion] = suggestions.list_suggestions(db, actor=actor, customer_id=cid).data
    invoice = factories.invoice(db, actor, cid, "100.00")
    applied = factories.memo(db, actor, cid, "10.00")
    application = credit.apply_credit(db, actor=actor, memo_id=applied, invoice_id=invoice,
                                      amount="5.00").application.id
    ids = {"customer": cid, "invoice": invoice, "applied": applied, "application": application,
           "issued": factories.memo(db, actor, cid, "10.00"),
           "draft": factories.memo(db, actor, cid, "10.00", issue=False),
           "draft_invoice": factories.invoice(db, actor, cid, "10.00", issue=False),
           "suggestion": suggestion.id,
           "integration": qbwc_setup.create(db, actor=actor).integration.id,
           "token": portal_links.create_link(db, actor=actor, customer_id=cid).token,
           "user": users.create_user(db, actor=actor, email="staff@fuzz.test",
                                     password="correct horse staff", role="staff")}
    ids["approval"] = approvals.request_approval(db, actor=actor, memo_id=ids["draft"]).id
    ids["synced_customer"], ids["reference"] = synced_customer(db, actor)
    ids["refunded"] = factories.memo(db, actor, cid, "10.00")
    ids["refund"] = refunds.refund_memo(db, actor=actor, memo_id=ids["refunded"],
                                        amount="1.00", method="cash").refund.id
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    portal_credit_setting.set_enabled(db, actor=actor, enabled=True)  # P5's forms answer
    ids["endpoint"], ids["event"] = webhook_endpoint_and_event(db, actor, cid)
    return World(db, actor, ids, admin, new_browser)


def webhook_endpoint_and_event(db: Database, actor: Actor, cid: str) -> tuple[str, str]:
    """D4: an endpoint (a public address literal: nothing is resolved or sent here) and an
    event made for it."""
    from creditdesk.jobs import sync as sync_jobs
    from creditdesk.services.events import endpoints

    sync_jobs.install_events()
    endpoint = endpoints.create_endpoint(db, actor=actor, url="https://93.184.215.14/hooks",
                                         events=["*"]).id
    factories.memo(db, actor, cid, "3.00", issue=False)
    with db.read() as s:
        return endpoint, s.scalars(select(models.Event.id)).one()


def synced_customer(db: Database, actor: Actor) -> tuple[str, str]:
    """A customer synced from Xero (Y10), and its reference."""
    from tests.services.test_customer_sources import remote
    from tests.sync_helpers import land

    land(db, actor, "xero", [remote("x-fuzz", "g-fuzz")])
    with db.read() as s:
        ref = s.scalars(select(models.CustomerReference)).one()
        return ref.customer_id, ref.id


def audit_count(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(models.AuditEvent)) or 0


def unsendable(data: dict) -> bool:
    """A NUL: no form field can hold one, so such a request never came from the page."""
    return any("\x00" in v for value in data.values()
               for v in (value if isinstance(value, list) else [value]))


def check_form_answer(world: World, browser: Browser, url: str, data: dict) -> None:
    before = audit_count(world.db)
    r = browser.post(url, data, follow_redirects=False)
    assert r.status_code < 500, (url, data, r.status_code, r.text[-2000:])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("text/html"), (url, data)
        assert 'role="alert"' in r.text, (url, data, r.status_code)
        if unsendable(data):
            assert r.status_code == 422 and "NUL character" in r.text, (url, data)
        elif r.status_code not in (401, 403, 404, 429):  # the address or the session
            assert 'id="error-detail"' not in r.text, ("not next to the form", url, data)
        assert audit_count(world.db) == before, ("a refusal changed something", url, data)
    else:
        assert not unsendable(data), (url, data, r.status_code)


def test_e3_every_page_form_is_in_the_fuzz_table(client) -> None:
    posts = {r.path for r in page_routes(client.app) if r.method == "POST"}
    assert posts == set(FORMS), "add the new form (and its fields) to FORMS"
    assert {r.path for r in page_routes(client.app) if "{" in r.path and r.method == "GET"} \
        <= set(PAGES)


@pytest.mark.parametrize("route", sorted(FORMS))
def test_e3_hostile_values_in_every_field_of_every_form(world: World, route: str) -> None:
    template, fields = FORMS[route]
    url = template.format(**world.ids)
    browser = world.browser_for(route)
    for value in HOSTILE:
        check_form_answer(world, browser, url, dict.fromkeys(fields, value))
        for field in fields:
            check_form_answer(world, browser, url, {field: value})


@pytest.mark.parametrize("route", sorted(FORMS))
def test_e3_fuzzed_forms_never_answer_5xx(world: World, route: str) -> None:
    template, fields = FORMS[route]
    url = template.format(**world.ids)
    browser = world.browser_for(route)

    @FUZZ
    @given(st.fixed_dictionaries({}, optional=dict.fromkeys(fields, field_values)))
    def run(data: dict) -> None:
        check_form_answer(world, browser, url, data)

    run()


def check_page_answer(browser: Browser, url: str, params: dict) -> None:
    r = browser.get(url, params=params, follow_redirects=False)
    assert r.status_code < 500, (url, params, r.status_code, r.text[-2000:])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("text/html"), (url, params)
        assert 'role="alert"' in r.text, (url, params, r.status_code)


def test_e3_hostile_query_parameters_of_every_page(world: World) -> None:
    routes = [r for r in page_routes(world.admin.c.app) if r.method == "GET"]
    for route in routes:
        url = PAGES.get(route.path, route.path).format(**world.ids)
        browser = world.browser_for(route.path)
        names = (*route.query, "unexpected")
        for value in IN_ADDRESS:
            check_page_answer(browser, url, dict.fromkeys(names, value))
            for name in names:
                check_page_answer(browser, url, {name: [value, value]})

        fuzz_page(browser, url, names)


def fuzz_page(browser: Browser, url: str, names: tuple[str, ...]) -> None:
    @FUZZ
    @given(st.fixed_dictionaries({}, optional=dict.fromkeys(names, address_values)))
    def run(params: dict) -> None:
        check_page_answer(browser, url, params)

    run()
