"""The demo data behind `creditdesk serve --demo`: every status, every reason, invariants
intact, loaded once however often it runs (services/demo.py)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from creditdesk.db.engine import Database
from creditdesk.domain.application import InvoiceStatus
from creditdesk.domain.memo import CREDIT_STATUSES, MemoStatus, Reason
from creditdesk.services import (
    catalog,
    credit,
    customers,
    demo,
    invoices,
    ledger,
    memos,
    partners,
    suggestions,
    visibility,
)
from creditdesk.services.context import Actor, clock

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
    assert len(custs) == len(demo.CUSTOMERS) + len(demo.STORY_CUSTOMERS) == 23
    assert {c.currency for c in custs} == set(CURRENCIES)

    invs = _all_invoices(db, actor)
    assert len(invs) == demo.INVOICES + 28  # 9 monthly invoices per story customer, + a copy
    assert {i.status for i in invs} == {s.value for s in InvoiceStatus}
    assert any(i.payments for i in invs)
    assert any(i.payments and i.credits_applied and i.status == "paid" for i in invs)

    ms = _all_memos(db, actor)
    assert len(ms) == 40
    assert {m.status for m in ms} == {s.value for s in MemoStatus}
    assert {m.reason for m in ms} == {r.value for r in Reason}
    assert all(m.source == "native" for m in ms)
    assert {m.currency for m in ms} == set(CURRENCIES)
    assert [m.number for m in ms] == [f"CM-{n:04d}" for n in range(40, 0, -1)]
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
    for m in ms:  # C7
        if m.status == "void":
            assert m.remaining_amount.minor == 0 and m.applied_amount.minor == 0
        else:
            assert m.applied_amount + m.remaining_amount == m.total
    for i in invs:  # I4
        assert i.total - i.amount_paid - i.credit_applied == i.balance_due
        assert sum(p.amount.minor for p in i.payments) == i.amount_paid.minor
        assert sum(c.amount.minor for c in i.credits_applied) == i.credit_applied.minor
    for cur in CURRENCIES:
        tb = ledger.trial_balance(db, actor=actor, currency=cur)
        assert tb.total_debit == tb.total_credit and tb.total_debit.minor > 0  # J1
        ar = next(a for a in tb.accounts if a.code == "1100").balance.minor
        due = sum(i.balance_due.minor for i in invs
                  if i.currency == cur and i.status not in ("draft", "void"))
        credit_left = sum(m.remaining_amount.minor for m in ms
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
    counts = (len(_all_invoices(db, actor)), len(_all_memos(db, actor)),
              len(customers.list_customers(db, actor=actor, limit=200).data))
    second = demo.load(db)
    assert not second.loaded
    assert second.partner_id == first.partner_id and second.api_key != first.api_key
    assert _actor(db, second).partner_id == first.partner_id
    assert _actor(db, first).partner_id == first.partner_id  # the old key still works
    assert (len(_all_invoices(db, actor)), len(_all_memos(db, actor)),
            len(customers.list_customers(db, actor=actor, limit=200).data)) == counts
    signed_in = partners.authenticate_user(db, email=second.admin_email,
                                           password=second.admin_password)
    assert signed_in.partner_id == first.partner_id


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
    situation of each reason in the story customers' histories (G1), each about the
    invoice the story got wrong."""
    actor = _actor(db, demo.load(db))
    found = suggestions.list_suggestions(db, actor=actor, status="open", limit=100).data
    by_reason = {s.reason: s for s in found}
    assert set(by_reason) == {"duplicate_charge", "pricing_error", "billing_adjustment"}
    names = {c.id: c.name for c in customers.list_customers(db, actor=actor, limit=200).data}
    assert names[by_reason["billing_adjustment"].customer_id] == "Hartwell Orthodontics"
    assert names[by_reason["duplicate_charge"].customer_id] == "Kestrel Architecture Partners"
    assert names[by_reason["pricing_error"].customer_id] == "Pinecrest Veterinary Hospital"
    assert by_reason["billing_adjustment"].amount.to_str() == "2250.00"  # 18 seats x 125.00
    assert by_reason["pricing_error"].amount.to_str() == "20.00"  # 2 keys x 10.00 over
    assert by_reason["duplicate_charge"].amount.to_str() == "3200.00"  # the whole copy
    for s in found:  # the mistaken invoice is still unpaid: nothing was settled on it
        inv = invoices.get_invoice(db, actor=actor, invoice_id=s.invoice_id)
        assert inv.status == "open" and inv.amount_paid.minor == 0
    assert suggestions.refresh(db, actor=actor).created == 0  # already refreshed by the loader


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
