"""The demo data behind `creditdesk serve --demo`: every status, every reason, invariants
intact, memos synced from QuickBooks Online and Xero, loaded once however often it runs
(services/demo.py, services/demo_sync.py)."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.demo import books as demo_sync
from creditdesk.demo import partner as demo
from creditdesk.domain.application import InvoiceStatus
from creditdesk.domain.memo import CREDIT_STATUSES, MemoStatus, Reason
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.access import partners
from creditdesk.services.accounting import ledger
from creditdesk.services.books import integrations, sync, write_back
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.customer_accounts import customer_sources, customers, visibility
from creditdesk.services.invoicing import catalog, invoices, tax_rates
from creditdesk.services.read_models import views
from creditdesk.services.suggesting import incidents as sla
from creditdesk.services.suggesting import suggestions

CURRENCIES = ("USD", "CAD", "EUR")


def _actor(db: Database, info: demo.DemoInfo) -> Actor:
    return partners.authenticate_api_key(db, info.api_key)


def _all_memos(db: Database, actor: Actor) -> list:
    page = memos.list_memos(db, actor=actor, limit=200)
    assert page.next_cursor is None
    return list(page.data)


def _all_invoices(db: Database, actor: Actor) -> list:
    page = invoices.list_invoices(db, actor=actor, limit=200)
    assert page.next_cursor is None
    return list(page.data)


def test_demo_covers_every_status_reason_and_shape(db: Database) -> None:
    info = demo.load(db)
    assert info.loaded
    assert (info.partner_name, info.admin_email) == ("Northwind IT Services",
                                                     "demo@creditdesk.local")
    actor = _actor(db, info)
    assert actor.partner_id == info.partner_id

    custs = customers.list_customers(db, actor=actor, limit=200).data
    # + the QuickBooks copy of Fabrikam and the Xero-only Fourth Coffee, made by the sync
    assert len(custs) == len(demo.CUSTOMERS) + len(demo.STORY_CUSTOMERS) + 2 == 26
    assert {c.currency for c in custs} == set(CURRENCIES)

    invs = _all_invoices(db, actor)
    # 9 monthly invoices per story customer (4), + a copy; 5 synced (3 QuickBooks, 2 Xero);
    # the taxed one (T1)
    assert len(invs) == demo.INVOICES + 37 + 5 + 1 == 143
    assert {i.status for i in invs} == {s.value for s in InvoiceStatus}
    assert any(i.payments for i in invs)
    assert any(i.payments and i.credits_applied and i.status == "paid" for i in invs)

    every = _all_memos(db, actor)
    assert len(every) == 48
    ms = [m for m in every if m.source == "native"]
    assert len(ms) == 41
    assert {m.status for m in ms} == {s.value for s in MemoStatus}
    assert {m.reason for m in ms} == {r.value for r in Reason}
    assert Counter(m.source for m in every) == {"native": 41, "quickbooks_online": 4, "xero": 3}
    assert {m.currency for m in ms} == set(CURRENCIES)
    assert [m.number for m in ms] == [f"CM-{n:04d}" for n in range(41, 0, -1)]
    assert any(m.invoice_id for m in ms) and any(not m.invoice_id for m in ms)
    assert any(li.variant_id for m in ms for li in m.lines)
    assert any(m.lines and not any(li.variant_id for li in m.lines) for m in ms)
    assert any(not m.lines for m in ms)
    voids = [m for m in ms if m.status == "void"]
    assert all(m.void_reason and m.voided_at for m in voids)
    assert any(m.issued_at for m in voids) and any(not m.issued_at for m in voids)
    spread = [m for m in ms if len({a.invoice_id for a in credit.list_applications(
        db, actor=actor, memo_id=m.id)}) >= 2]
    assert spread and all(m.status == "applied" for m in spread)


def test_demo_invariants_hold(db: Database) -> None:
    """J1, J2, J3, C7 and I4 over the whole demo data set."""
    actor = _actor(db, demo.load(db))
    invs, ms = _all_invoices(db, actor), _all_memos(db, actor)
    for m in ms:  # C7, with refunds (R1)
        if m.status == "void":
            assert m.remaining_amount.minor == 0 and m.applied_amount.minor == 0
        else:
            # the view's applied_amount is the credit used: to invoices, and refunded
            assert m.applied_amount + m.remaining_amount == m.total
            assert m.applied_to_invoices + m.refunded_amount + m.remaining_amount == m.total
    for i in invs:  # I4
        assert i.total - i.amount_paid - i.credit_applied == i.balance_due
        if i.read_only:  # synced: paid is the system's total less balance due (Invoice model)
            continue
        assert sum(p.amount.minor for p in i.payments) == i.amount_paid.minor
        assert sum(c.amount.minor for c in i.credits_applied) == i.credit_applied.minor
    native = [m for m in ms if m.source == "native"]  # synced memos post nothing here (Y3)
    for cur in CURRENCIES:
        tb = ledger.trial_balance(db, actor=actor, currency=cur)
        assert tb.total_debit == tb.total_credit and tb.total_debit.minor > 0  # J1
        ar = next(a for a in tb.accounts if a.code == "1100").balance.minor
        due = sum(i.balance_due.minor for i in invs  # synced invoices post nothing (Y9)
                  if i.currency == cur and i.status not in ("draft", "void")
                  and not i.read_only)
        credit_left = sum(m.remaining_amount.minor for m in native
                          if m.currency == cur and m.status in CREDIT_STATUSES)
        assert ar == due - credit_left  # J2
    variant_ids = {li.variant_id for i in invs for li in i.lines if li.variant_id}
    assert variant_ids
    for vid in sorted(variant_ids):  # J3
        acts = ledger.list_activities(db, actor=actor, variant_id=vid, limit=200)
        assert acts.next_cursor is None
        stock = catalog.get_variant(db, actor=actor, variant_id=vid).stock_on_hand
        assert stock == sum(a.quantity for a in acts.data)


def test_demo_loads_once_and_hands_out_a_new_key(db: Database) -> None:
    first = demo.load(db)
    actor = _actor(db, first)
    counts = _counts(db, actor)
    second = demo.load(db)
    assert not second.loaded
    assert second.partner_id == first.partner_id and second.api_key != first.api_key
    assert _actor(db, second).partner_id == first.partner_id
    assert _actor(db, first).partner_id == first.partner_id  # the old key still works
    assert _counts(db, actor) == counts
    signed_in = partners.authenticate_user(db, email=second.admin_email,
                                           password=second.admin_password)
    assert signed_in.partner_id == first.partner_id


def _counts(db: Database, actor: Actor) -> tuple[int, ...]:
    """Invoices, memos, customers, connections and sync runs of the demo partner."""
    conns = integrations.list_integrations(db, actor=actor).data
    return (len(_all_invoices(db, actor)), len(_all_memos(db, actor)),
            len(customers.list_customers(db, actor=actor, limit=200).data), len(conns),
            sum(len(integrations.list_runs(db, actor=actor, integration_id=i.id).data)
                for i in conns))


def _snapshot(db: Database) -> tuple:
    actor = _actor(db, demo.load(db))
    names = {c.id: c.name for c in customers.list_customers(db, actor=actor, limit=200).data}
    return (
        sorted((m.number, names[m.customer_id], m.reason, m.status, str(m.total),
                str(m.remaining_amount), m.issue_date, len(m.lines))
               for m in _all_memos(db, actor)),
        sorted((i.number, names[i.customer_id], i.status, str(i.total), str(i.amount_paid),
                str(i.credit_applied), i.issue_date) for i in _all_invoices(db, actor)),
        Counter(m.status for m in _all_memos(db, actor)),
    )


def test_demo_is_deterministic(sqlite_template: Path, tmp_path: Path) -> None:
    snapshots = []
    for name in ("a.db", "b.db"):
        shutil.copy(sqlite_template, tmp_path / name)
        db = Database(f"sqlite:///{tmp_path / name}")
        try:
            snapshots.append(_snapshot(db))
        finally:
            db.dispose()
    assert snapshots[0] == snapshots[1]


def test_demo_shows_credit_in_the_portal_with_one_exception(db):
    """A newcomer sees both sides of P2/P3: credit on for all, one customer excepted."""
    info = demo.load(db)
    actor = partners.authenticate_api_key(db, info.api_key)
    setting = visibility.get_setting(db, actor=Actor(actor.partner_id, "test"))
    assert setting.show_to_all_customers is True
    assert len(setting.exceptions) == 1


def test_demo_has_open_suggestions_of_every_reason(db: Database) -> None:
    """The Suggestions page is not empty at first sight: the loader's refresh found one
    situation of each reason in the story customers' histories (G1, G5), each about the
    invoice the story got wrong (or the month the service fell short)."""
    actor = _actor(db, demo.load(db))
    found = suggestions.list_suggestions(db, actor=actor, status="open", limit=100).data
    by_reason = {s.reason: s for s in found}
    assert set(by_reason) == {"duplicate_charge", "pricing_error", "billing_adjustment",
                              "service_issue"}
    assert len(found) == 4
    names = {c.id: c.name for c in customers.list_customers(db, actor=actor, limit=200).data}
    assert names[by_reason["billing_adjustment"].customer_id] == "Hartwell Orthodontics"
    assert names[by_reason["duplicate_charge"].customer_id] == "Kestrel Architecture Partners"
    assert names[by_reason["pricing_error"].customer_id] == "Pinecrest Veterinary Hospital"
    assert by_reason["billing_adjustment"].amount.to_str() == "2250.00"  # 18 seats x 125.00 over
    assert by_reason["pricing_error"].amount.to_str() == "20.00"  # 2 keys x 10.00 over
    assert by_reason["duplicate_charge"].amount.to_str() == "3200.00"  # the whole copy
    for s in found:  # the mistaken invoice is still unpaid: nothing was settled on it
        inv = invoices.get_invoice(db, actor=actor, invoice_id=s.invoice_id)
        assert inv.status == "open" and inv.amount_paid.minor == 0
    assert suggestions.refresh(db, actor=actor).created == 0  # already refreshed by the loader


def test_demo_has_a_service_issue_credit_naming_its_incidents(db: Database) -> None:
    """G5 at first sight: an SLA policy (10% below 99.9%, 25% below 99%), two overlapping
    incidents on the hosted backup (4 h 30 min down in all), and the credit Meridian's month
    is owed: 10% of that month's hosted-backup charge, naming both incidents and the figures.
    Accepting it makes a draft memo of that amount (G3)."""
    actor = _actor(db, demo.load(db))
    [policy] = sla.get_sla(db, actor=actor).policies
    assert (policy.variant_id, policy.availability_promised) == (None, "99.9")
    assert [(b.below, b.credit_percent) for b in policy.bands] == [("99.9", "10"),
                                                                    ("99", "25")]
    recorded = sla.list_incidents(db, actor=actor).data
    assert sorted(i.description for i in recorded) == sorted(o[3] for o in demo.OUTAGES)
    [vid] = {v for i in recorded for v in i.variant_ids}
    hosted = catalog.get_variant(db, actor=actor, variant_id=vid)
    assert (hosted.sku, hosted.price.to_str()) == (demo.HOSTED[1], "95.00")
    assert all(i.variant_ids == [hosted.id] and i.customer_ids == [] for i in recorded)
    [first, second] = sorted(recorded, key=lambda i: i.started_at)
    assert first.ended_at > second.started_at  # they overlap: counted once
    assert second.ended_at - first.started_at == timedelta(hours=4, minutes=30)

    [s] = [s for s in suggestions.list_suggestions(db, actor=actor, status="open").data
           if s.reason == "service_issue"]
    names = {c.id: c.name for c in customers.list_customers(db, actor=actor, limit=200).data}
    assert names[s.customer_id] == "Meridian Freight Brokers"
    for i in recorded:
        assert f'"{i.description}"' in s.explanation
    assert "4 h 30 min down — overlaps counted once; 99.9% promised" in s.explanation
    assert "The SLA policy credits 10% below 99.9%" in s.explanation
    month = first.started_at.strftime("%B %Y")
    assert f"availability in {month}" in s.explanation
    # the month's recurring charge: the hosted backup on Meridian's invoices of that month
    charged = [invoices.get_invoice(db, actor=actor, invoice_id=i) for i in s.invoice_ids]
    assert charged and all(i.customer_id == s.customer_id and i.issue_date.strftime("%B %Y")
                           == month for i in charged)
    charge = sum(li.amount.minor for i in charged for li in i.lines
                 if li.variant_id == hosted.id)
    assert charge == len(charged) * demo.HOSTED_SERVERS * 9_500  # 6 servers x 95.00
    assert s.amount.minor == charge // 10 and s.currency == "USD"  # 57.00 a month
    assert f"= {s.amount}." in s.explanation and s.confidence == 1.0
    memo, _ = suggestions.accept(db, actor=actor, suggestion_id=s.id)
    assert (memo.status, memo.reason, memo.total, memo.invoice_id) == (
        "draft", "service_issue", s.amount, s.invoice_id)


def test_demo_shows_overdue_partially_paid_and_applied_at_first_sight(db: Database) -> None:
    actor = _actor(db, demo.load(db))
    today = clock.today()
    invs = _all_invoices(db, actor)
    overdue = [i for i in invs if i.status in ("open", "partially_paid") and i.due_date
               and i.due_date < today and i.balance_due.minor > 0]
    assert len(overdue) >= 5
    assert any(i.status == "partially_paid" and i.payments for i in overdue)
    assert any(i.payments and i.credits_applied for i in overdue)
    ms = _all_memos(db, actor)
    assert sum(1 for m in ms if credit.list_applications(db, actor=actor, memo_id=m.id)) >= 10


def _memo_by_number(db: Database, actor: Actor) -> dict[str, views.MemoView]:
    return {m.number: m for m in _all_memos(db, actor)}


def test_demo_has_memos_synced_from_quickbooks_and_xero(db: Database) -> None:
    """Item 5 at first sight: synced memos of both systems, with their lines, and credit
    used at the source shown as such (applied there, refunded there), one voided there."""
    actor = _actor(db, demo.load(db))
    by_number = _memo_by_number(db, actor)
    qbo = {n: m for n, m in by_number.items() if m.source == "quickbooks_online"}
    xero = {n: m for n, m in by_number.items() if m.source == "xero"}
    assert {n: m.status for n, m in qbo.items()} == {
        "1041": "partially_applied", "1042": "partially_applied", "1043": "applied",
        "1044": "issued"}
    assert {n: m.status for n, m in xero.items()} == {
        "CN-0207": "applied", "CN-0211": "void", "CN-0214": "issued"}
    for m in [*qbo.values(), *xero.values()]:
        assert m.read_only and m.lines and all(li.synced for li in m.lines)
        assert m.lines and sum(li.amount.minor for li in m.lines) == m.total.minor
    partly = qbo["1041"]  # "Applied in QuickBooks Online: $150.00"
    assert (str(partly.applied_to_invoices), str(partly.remaining_amount)) == ("$150.00",
                                                                                "$450.00")
    assert [li.quantity for li in qbo["1044"].lines] == ["1.5", 2]
    used = xero["CN-0207"]  # applied in part in Xero, the rest refunded there
    assert (str(used.applied_to_invoices), str(used.refunded_amount)) == ("$164.00", "$100.00")
    void = xero["CN-0211"]
    assert void.void_reason == "Voided in Xero" and void.remaining_amount.minor == 0
    for number in ("1041", "1043", "CN-0211"):  # used at the source: no application here
        assert not credit.list_applications(db, actor=actor, memo_id=by_number[number].id)


def test_demo_has_one_customer_in_three_places_and_a_likely_copy(db: Database) -> None:
    """Y10 at first sight: Contoso exists natively, in QuickBooks Online and in Xero, linked
    into one customer by the billing-email rule; the QuickBooks "Fabrikam Logistics" with
    another email stays a customer of its own, listed as a likely copy of the native one."""
    actor = _actor(db, demo.load(db))
    custs = customers.list_customers(db, actor=actor, limit=200).data
    contoso = [c for c in custs if c.name == demo_sync.LINKED[0]]
    assert len(contoso) == 1
    linked = contoso[0]
    assert linked.email == demo_sync.LINKED[1]
    assert [(r.system, r.linked_by) for r in linked.references] == [
        ("quickbooks_online", "email_rule"), ("xero", "email_rule")]
    theirs = [m for m in _all_memos(db, actor) if m.customer_id == linked.id]
    assert {m.source for m in theirs} == {"native", "quickbooks_online", "xero"}

    fabrikam = sorted((c for c in custs if c.name == demo_sync.COPY[0]),
                      key=lambda c: bool(c.references))
    assert len(fabrikam) == 2
    native, copy = fabrikam
    assert not native.references and copy.email == demo_sync.COPY[1] != native.email
    assert [(r.system, r.linked_by) for r in copy.references] == [("quickbooks_online", "sync")]
    likely = customer_sources.merge_candidates(db, actor=actor, customer_id=native.id)
    assert [c.id for c in likely] == [copy.id]

    only_xero = next(c for c in custs if c.name == demo_sync.XERO_ONLY[0])
    assert [(r.system, r.linked_by) for r in only_xero.references] == [("xero", "sync")]


def test_demo_connections_are_disconnected_with_one_run_and_never_sync(db: Database) -> None:
    """Both connections show a recorded run (Y8) yet hold no credentials and no schedule, so
    no runner ever tries to reach QuickBooks or Xero for them."""
    actor = _actor(db, demo.load(db))
    conns = {i.provider: i for i in integrations.list_integrations(db, actor=actor).data}
    assert set(conns) == {"quickbooks_online", "xero"}
    expected = {"quickbooks_online": (7, 4), "xero": (5, 3)}  # (fetched, memos created)
    for provider, i in conns.items():
        assert i.status == "disconnected" and i.next_sync_at is None and i.last_error is None
        assert i.last_synced_at is not None and i.company_name == demo_sync.COMPANY
        runs = integrations.list_runs(db, actor=actor, integration_id=i.id).data
        assert [(r.trigger, r.status, r.fetched, r.created, r.errors) for r in runs] == [
            ("demo", "succeeded", *expected[provider], [])]
    with db.read() as s:
        stored = s.scalars(select(models.Integration.credentials_encrypted).where(
            models.Integration.partner_id == actor.partner_id)).all()
    assert stored == [None, None]
    assert sync.queue_due(db) == []  # even long after: nothing is due
    assert sync.queue_due(db, now=clock.now() + timedelta(days=365)) == []
    assert sync.claim_next(db) is None

    def never(snap, save):
        raise AssertionError(f"the demo's {snap.provider} connection was synced")

    assert sync_jobs.run_pending(db, never) == []


def _synced_invoices(db: Database, actor: Actor) -> dict[str, views.InvoiceView]:
    return {i.number: i for i in _all_invoices(db, actor) if i.source != "native"}


def test_demo_shows_synced_invoices_and_each_write_back_state_at_first_sight(
        db: Database, monkeypatch) -> None:
    """Y9 and Y11-Y13 with nothing to set up: synced invoices with the system's balances;
    credit applied here and written back (applied, the Payment's id kept, the figures
    moved), one pending (sent, no answer yet: not due again for a day) and one refused in
    QuickBooks' words with nothing moved. No job ever reaches a system for them: a retry of
    the refused one, or the pending one's next attempt, is refused in words (disconnected)."""
    actor = _actor(db, demo.load(db))
    synced = _synced_invoices(db, actor)
    assert {n: (i.source, i.read_only, i.balance_due.to_str()) for n, i in synced.items()} == {
        "1179": ("quickbooks_online", True, "360.00"),
        "1187": ("quickbooks_online", True, "1096.00"),  # 1296.00 less the credit written
        "1190": ("quickbooks_online", True, "870.00"),
        "INV-0409": ("xero", True, "1156.00"), "INV-0418": ("xero", True, "420.00")}
    by_number = _memo_by_number(db, actor)

    def only_application(number: str) -> views.ApplicationView:
        [app] = credit.list_applications(db, actor=actor, memo_id=by_number[number].id)
        return app

    written, refused, waiting = (only_application(n) for n in ("1042", "1044", "CN-0214"))
    assert (written.status, written.origin, written.amount.to_str(), written.invoice_id) == (
        "applied", "user", "200.00", synced["1187"].id)
    assert written.write_back == views.WriteBackView("quickbooks_online",
                                                     demo_sync.PAYMENT_ID, None)
    assert by_number["1042"].remaining_amount.to_str() == "250.00"
    assert (refused.status, refused.invoice_id) == ("failed", synced["1190"].id)
    assert refused.write_back is not None and refused.write_back.error == (
        "QuickBooks Online refused to apply the credit: The account period has closed.")
    assert by_number["1044"].remaining_amount.to_str() == "507.50"  # nothing moved
    assert (waiting.status, waiting.invoice_id) == ("pending", synced["INV-0418"].id)
    assert by_number["CN-0214"].remaining_amount.to_str() == "95.00"  # Xero hasn't answered

    def never(snap, save):
        raise AssertionError(f"the demo's {snap.provider} connection was reached")

    assert write_back.run_due(db, never) == []  # the pending one waits its back-off
    credit.retry_write_back(db, actor=actor, memo_id=by_number["1044"].id,
                            application_id=refused.id)
    assert write_back.run_due(db, never) == [refused.id]
    assert only_application("1044").write_back.error.startswith(
        "QuickBooks Online is not connected")
    later = clock.now() + demo_sync.UNANSWERED_WAIT + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert write_back.run_due(db, never) == [waiting.id]
    assert only_application("CN-0214").status == "failed"


def test_demo_has_a_taxed_invoice_a_memo_crediting_part_of_it_and_a_refund(db: Database) -> None:
    """Issue 14's demo data: a compound rate (T1); a memo crediting 2 of 10 taxed seats
    carries the tax of what it credits, per component, half-up (T2, T3); issuing it debits
    Sales Tax Payable (T4); part of its credit was refunded by check (R1)."""
    actor = _actor(db, demo.load(db))
    [rate] = tax_rates.list_tax_rates(db, actor=actor)
    assert (rate.name, [c.name for c in rate.components]) == (
        "CA sales tax 7.25%", ["California state", "Alameda County"])
    [memo] = [m for m in _all_memos(db, actor) if m.refunds]
    assert (memo.status, memo.reason, memo.subtotal.to_str(), memo.tax_total.to_str(),
            memo.total.to_str()) == ("partially_applied", "billing_adjustment", "250.00",
                                     "18.13", "268.13")  # 15.00 + 3.125 → 3.13
    assert (memo.refunded_amount.to_str(), memo.remaining_amount.to_str()) == (
        "100.00", "168.13")
    [refund] = memo.refunds
    assert (refund.method, refund.reference) == ("check", "Check 2291")
    assert memo.invoice_id is not None
    inv = invoices.get_invoice(db, actor=actor, invoice_id=memo.invoice_id)
    assert inv.tax_total is not None and inv.tax_total.to_str() == "90.63"  # 75.00 + 15.63
    tb = ledger.trial_balance(db, actor=actor, currency="USD")
    payable = next(a for a in tb.accounts if a.code == "2200")
    assert (payable.debit.to_str(), payable.credit.to_str()) == ("18.13", "90.63")
