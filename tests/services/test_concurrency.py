"""Concurrency: real threads racing through the service layer (A5, A6, C3, C5, I4, L2, L4,
L5, M4, U2 and the lock order of ARCHITECTURE.md).

PostgreSQL (``pg_db``) is where row locks matter: every scenario runs there at full size.
SQLite has no row locks; its write transactions begin IMMEDIATE and so must serialise the
same races, without a single "database is locked": each rule has a smaller SQLite variant.

Every race releases its threads through one ``threading.Barrier`` so they really start
together, and joins them with a timeout so a deadlock fails the test instead of hanging it.
Only the domain refusals the rules promise are accepted; any other exception (a database
error, a detected deadlock, an IntegrityError from the constraints behind the locks,
"database is locked") fails the test.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.application import InvoiceStatus
from creditdesk.domain.journal import Account, EntryKind
from creditdesk.services import credit, invoices, memo_lifecycle, memos, partners
from creditdesk.services.context import Actor
from tests import factories

pytestmark = pytest.mark.slow
JOIN_TIMEOUT = 90.0
SQLITE = pytest.mark.parametrize("db", ["sqlite"], indirect=True)
MS = memo_rules.MemoStatus


# --- racing -------------------------------------------------------------------------------

@dataclass
class Outcome:
    label: str
    value: object = None
    error: BaseException | None = None


Calls = list[tuple[str, Callable[[], object]]]


def race(calls: Calls, timeout: float = JOIN_TIMEOUT) -> list[Outcome]:
    """Run every call in its own thread, all released at once; fail if any is still running
    after ``timeout`` (a deadlock must fail, not hang)."""
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome(label) for label, _ in calls]

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout)
            outcomes[i].value = call()
        except BaseException as exc:  # recorded and judged by the test
            outcomes[i].error = exc

    threads = [threading.Thread(target=run, args=(i, call), name=f"race-{i}-{label}", daemon=True)
               for i, (label, call) in enumerate(calls)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"deadlock: {len(stuck)} threads still running after {timeout}s: {stuck}"
    return outcomes


def settle(outcomes: list[Outcome], allowed: dict[str, tuple[type[errors.DomainError], ...]],
           ) -> tuple[dict[str, list[Outcome]], dict[str, list[Outcome]]]:
    """Split outcomes per label into successes and refusals; any exception that is not one
    of the domain refusals allowed for that label fails the test."""
    unexpected = [o for o in outcomes if o.error is not None
                  and not isinstance(o.error, allowed.get(o.label, ()))]
    assert not unexpected, "unexpected exceptions:\n" + "\n".join(
        f"  {o.label}: {type(o.error).__module__}.{type(o.error).__name__}: {o.error}"
        for o in unexpected[:10])
    ok: dict[str, list[Outcome]] = {}
    refused: dict[str, list[Outcome]] = {}
    for o in outcomes:
        (ok if o.error is None else refused).setdefault(o.label, []).append(o)
    return ok, refused


def count(groups: dict[str, list[Outcome]], label: str) -> int:
    return len(groups.get(label, []))


# --- set-up and reading back --------------------------------------------------------------

def new_actor(db: Database) -> Actor:
    p = partners.create_partner(db, name="Race MSP",
                                admin_email=f"admin-{uuid.uuid4().hex[:12]}@race.test",
                                admin_password="correct horse")
    return partners.authenticate_api_key(db, p.api_key)


def memo_row(db: Database, memo_id: str) -> models.CreditMemo:
    with db.read() as s:
        row = s.get(models.CreditMemo, memo_id)
        assert row is not None
        return row


def invoice_row(db: Database, invoice_id: str) -> models.Invoice:
    with db.read() as s:
        row = s.get(models.Invoice, invoice_id)
        assert row is not None
        return row


def applications_sum(db: Database, *, memo_id: str | None = None,
                     invoice_id: str | None = None) -> int:
    ca = models.CreditApplication
    stmt = select(func.coalesce(func.sum(ca.amount_minor), 0))
    if memo_id:
        stmt = stmt.where(ca.credit_memo_id == memo_id)
    if invoice_id:
        stmt = stmt.where(ca.invoice_id == invoice_id)
    with db.read() as s:
        return int(s.scalar(stmt))


def journal_count(db: Database, source_id: str, kind: EntryKind) -> int:
    je = models.JournalEntry
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(je).where(
            je.source_id == source_id, je.kind == kind.value)))


def activities(db: Database, source_id: str) -> list[models.InventoryActivity]:
    ia = models.InventoryActivity
    with db.read() as s:
        return list(s.scalars(select(ia).where(ia.source_id == source_id).order_by(ia.id)).all())


def assert_books(db: Database, actor: Actor) -> None:
    """After the race: A2 and C7 for every memo and invoice, I4, J1, J2, J3."""
    pid = actor.partner_id
    with db.read() as s:
        memo_rows = s.scalars(select(models.CreditMemo).where(
            models.CreditMemo.partner_id == pid)).all()
        invoice_rows = s.scalars(select(models.Invoice).where(
            models.Invoice.partner_id == pid)).all()
        ca = models.CreditApplication
        by_memo = dict(s.execute(select(ca.credit_memo_id, func.sum(ca.amount_minor))
                                 .where(ca.partner_id == pid).group_by(ca.credit_memo_id)).all())
        by_invoice = dict(s.execute(select(ca.invoice_id, func.sum(ca.amount_minor))
                                    .where(ca.partner_id == pid).group_by(ca.invoice_id)).all())
        pay = models.Payment
        paid = dict(s.execute(select(pay.invoice_id, func.sum(pay.amount_minor))
                              .where(pay.partner_id == pid).group_by(pay.invoice_id)).all())
        entries = s.scalars(select(models.JournalEntry).where(
            models.JournalEntry.partner_id == pid)).all()
        variants = s.scalars(select(models.Variant).where(models.Variant.partner_id == pid)).all()
        ia = models.InventoryActivity
        stock = dict(s.execute(select(ia.variant_id, func.sum(ia.quantity))
                               .where(ia.partner_id == pid).group_by(ia.variant_id)).all())
    for m in memo_rows:
        assert 0 <= m.applied_minor <= m.total_minor, m.number  # A2
        assert int(by_memo.get(m.id, 0)) == m.applied_minor, m.number  # applications sum
        if m.status in (MS.VOID, MS.DRAFT):
            assert m.applied_minor == 0, m.number  # C7: a void memo has nothing remaining
        else:  # L3, U2: the status follows from the amounts
            assert m.status == memo_rules.status_for_amounts(
                total_minor=m.total_minor, applied_minor=m.applied_minor), m.number
    for inv in invoice_rows:
        assert int(by_invoice.get(inv.id, 0)) == inv.credited_minor, inv.number
        assert int(paid.get(inv.id, 0)) == inv.paid_minor, inv.number
        assert 0 <= inv.paid_minor + inv.credited_minor <= inv.total_minor, inv.number  # A2, I4
        if inv.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            balance = inv.total_minor - inv.paid_minor - inv.credited_minor
            expected = (InvoiceStatus.PAID if balance == 0 else InvoiceStatus.PARTIALLY_PAID
                        if inv.paid_minor or inv.credited_minor else InvoiceStatus.OPEN)
            assert inv.status == expected, inv.number  # I5
    # J1: every entry is two-legged and positive, so debits and credits agree per currency.
    for e in entries:
        assert e.amount_minor > 0 and e.debit_account != e.credit_account
    # J2, per currency.
    ar = Account.ACCOUNTS_RECEIVABLE.value
    for cur in {e.currency for e in entries} | {m.currency for m in memo_rows}:
        ar_balance = sum(e.amount_minor for e in entries if e.currency == cur
                         and e.debit_account == ar) - sum(
            e.amount_minor for e in entries if e.currency == cur and e.credit_account == ar)
        due = sum(i.total_minor - i.paid_minor - i.credited_minor for i in invoice_rows
                  if i.currency == cur and i.status not in (InvoiceStatus.DRAFT,
                                                            InvoiceStatus.VOID))
        remaining = sum(m.total_minor - m.applied_minor for m in memo_rows if m.currency == cur
                        and m.source == "native" and m.status in (MS.ISSUED, MS.PARTIALLY_APPLIED))
        assert ar_balance == due - remaining, f"J2 broken in {cur}"
    for v in variants:  # J3
        assert v.stock_on_hand == int(stock.get(v.id, 0)), v.sku


# --- A6: concurrent applications never over-apply -----------------------------------------

# (memo total, successes, refusal of the rest): a memo used up exactly is `applied` and so
# refuses further credit as invalid_state (A1); one with 5.00 left refuses 10.00 with
# exceeds_memo_remaining (A2).
MEMO_CAPS = [
    pytest.param("100.00", 10, errors.InvalidState, id="memo-100.00-used-up"),
    pytest.param("95.00", 9, errors.ExceedsMemoRemaining, id="memo-95.00-5.00-left"),
]


def _a6_memo_cap(db: Database, *, threads: int, memo_total: str, successes: int,
                 refusal: type[errors.DomainError], spread: bool) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    memo_id = factories.memo(db, actor, cus, memo_total)
    if spread:
        invoice_ids = [factories.invoice(db, actor, cus, "1000.00") for _ in range(threads)]
    else:
        invoice_ids = [factories.invoice(db, actor, cus, "1000.00")] * threads

    outcomes = race([("apply", lambda inv=inv: credit.apply_credit(
        db, actor=actor, memo_id=memo_id, invoice_id=inv, amount="10.00"))
        for inv in invoice_ids])

    ok, refused = settle(outcomes, {"apply": (refusal,)})
    assert count(ok, "apply") == successes
    assert count(refused, "apply") == threads - successes
    memo = memo_row(db, memo_id)
    assert memo.applied_minor == successes * 1000
    assert memo.status == (MS.APPLIED if memo.applied_minor == memo.total_minor
                           else MS.PARTIALLY_APPLIED)
    assert applications_sum(db, memo_id=memo_id) == successes * 1000
    for inv in set(invoice_ids):
        assert invoice_row(db, inv).credited_minor == applications_sum(db, invoice_id=inv)
    assert_books(db, actor)


@pytest.mark.parametrize("spread", [False, True], ids=["one-invoice", "32-invoices"])
@pytest.mark.parametrize(("memo_total", "successes", "refusal"), MEMO_CAPS)
def test_a6_32_concurrent_applications_never_over_apply(pg_db, memo_total, successes, refusal,
                                                        spread):
    _a6_memo_cap(pg_db, threads=32, memo_total=memo_total, successes=successes,
                 refusal=refusal, spread=spread)


@SQLITE
@pytest.mark.parametrize("spread", [False, True], ids=["one-invoice", "many-invoices"])
@pytest.mark.parametrize(("memo_total", "successes", "refusal"), MEMO_CAPS)
def test_a6_concurrent_applications_never_over_apply_sqlite(db, memo_total, successes, refusal,
                                                            spread):
    _a6_memo_cap(db, threads=14, memo_total=memo_total, successes=successes, refusal=refusal,
                 spread=spread)


# The invoice-side cap: many memos racing onto one invoice. Paid exactly, the invoice refuses
# further credit as invalid_state (A1); with 5.00 due, 10.00 is exceeds_invoice_balance (A2).
INVOICE_CAPS = [
    pytest.param("100.00", 10, errors.InvalidState, id="invoice-100.00-paid"),
    pytest.param("95.00", 9, errors.ExceedsInvoiceBalance, id="invoice-95.00-5.00-due"),
]


def _a6_invoice_cap(db: Database, *, threads: int, invoice_total: str, successes: int,
                    refusal: type[errors.DomainError]) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cus, invoice_total)
    memo_ids = [factories.memo(db, actor, cus, "10.00") for _ in range(threads)]

    outcomes = race([("apply", lambda m=m: credit.apply_credit(
        db, actor=actor, memo_id=m, invoice_id=inv, amount="10.00")) for m in memo_ids])

    ok, refused = settle(outcomes, {"apply": (refusal,)})
    assert count(ok, "apply") == successes
    assert count(refused, "apply") == threads - successes
    row = invoice_row(db, inv)
    assert row.credited_minor == successes * 1000 == applications_sum(db, invoice_id=inv)
    assert row.paid_minor + row.credited_minor <= row.total_minor
    assert row.status == (InvoiceStatus.PAID if row.credited_minor == row.total_minor
                          else InvoiceStatus.PARTIALLY_PAID)
    applied = [memo_row(db, m) for m in memo_ids]
    assert sorted(m.status for m in applied) == sorted(
        [MS.APPLIED.value] * successes + [MS.ISSUED.value] * (threads - successes))
    assert_books(db, actor)


@pytest.mark.parametrize(("invoice_total", "successes", "refusal"), INVOICE_CAPS)
def test_a6_concurrent_memos_never_over_credit_one_invoice(pg_db, invoice_total, successes,
                                                           refusal):
    _a6_invoice_cap(pg_db, threads=32, invoice_total=invoice_total, successes=successes,
                    refusal=refusal)


@SQLITE
@pytest.mark.parametrize(("invoice_total", "successes", "refusal"), INVOICE_CAPS)
def test_a6_concurrent_memos_never_over_credit_one_invoice_sqlite(db, invoice_total, successes,
                                                                  refusal):
    _a6_invoice_cap(db, threads=14, invoice_total=invoice_total, successes=successes,
                    refusal=refusal)


# --- C3 (and I2): numbers stay unique under concurrent creation ---------------------------

def _c3_numbers(db: Database, *, memo_threads: int, invoice_threads: int) -> None:
    actor = new_actor(db)
    customer_ids = [factories.customer(db, actor, f"Customer {i}") for i in range(4)]
    line = [{"description": "Support", "quantity": 1, "unit_price": "50.00"}]
    calls: Calls = [
        ("memo", lambda i=i: memos.create_memo(db, actor=actor, customer_id=customer_ids[i % 4],
                                               reason="goodwill", amount="5.00"))
        for i in range(memo_threads)]
    calls += [("invoice", lambda i=i: invoices.create_invoice(
        db, actor=actor, customer_id=customer_ids[i % 4], lines=line))
        for i in range(invoice_threads)]

    ok, _ = settle(race(calls), {})
    memo_numbers = sorted(o.value.number for o in ok.get("memo", []))  # type: ignore[attr-defined]
    assert memo_numbers == [f"CM-{n:04d}" for n in range(1, memo_threads + 1)]
    invoice_numbers = sorted(o.value.number for o in ok.get("invoice", []))  # type: ignore[attr-defined]
    assert invoice_numbers == [f"INV-{n:04d}" for n in range(1, invoice_threads + 1)]
    with db.read() as s:
        stored = s.scalars(select(models.CreditMemo.number).where(
            models.CreditMemo.partner_id == actor.partner_id)).all()
    assert sorted(stored) == memo_numbers


def test_c3_concurrent_creation_yields_unique_numbers(pg_db):
    _c3_numbers(pg_db, memo_threads=40, invoice_threads=0)


def test_c3_i2_concurrent_memo_and_invoice_creation_yields_unique_numbers(pg_db):
    _c3_numbers(pg_db, memo_threads=20, invoice_threads=20)


@SQLITE
def test_c3_concurrent_creation_yields_unique_numbers_sqlite(db):
    _c3_numbers(db, memo_threads=16, invoice_threads=8)


# --- C5: concurrent linked memos never credit more than the invoice -----------------------

def _c5_linked_cap(db: Database, *, threads: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cus, "100.00")
    outcomes = race([("create", lambda: memos.create_memo(
        db, actor=actor, customer_id=cus, reason="billing_adjustment", amount="30.00",
        invoice_id=inv)) for _ in range(threads)])
    ok, refused = settle(outcomes, {"create": (errors.ExceedsInvoiceTotal,)})
    assert count(ok, "create") == 3
    assert count(refused, "create") == threads - 3
    with db.read() as s:
        linked = s.scalar(select(func.sum(models.CreditMemo.total_minor)).where(
            models.CreditMemo.invoice_id == inv))
    assert linked == 9000


def test_c5_concurrent_linked_memos_never_exceed_invoice_total(pg_db):
    _c5_linked_cap(pg_db, threads=24)


@SQLITE
def test_c5_concurrent_linked_memos_never_exceed_invoice_total_sqlite(db):
    _c5_linked_cap(db, threads=10)


# --- L2 / L4: issuing (and voiding) twice never restocks or posts twice -------------------

def _variant_memo(db: Database, actor: Actor, cus: str, variant_id: str) -> str:
    return memos.create_memo(db, actor=actor, customer_id=cus, reason="returned_goods", lines=[
        {"description": "Router returned", "quantity": 3, "unit_price": "25.00",
         "variant_id": variant_id},
        {"description": "Restocking fee waived", "quantity": 1, "unit_price": "10.00"},
    ]).id


def _l2_issue_once(db: Database, *, threads: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    variant_id = factories.variant(db, actor, "RTR-1", stock=10)
    memo_id = _variant_memo(db, actor, cus, variant_id)

    outcomes = race([("issue", lambda: memo_lifecycle.issue_memo(db, actor=actor,
                                                                 memo_id=memo_id))] * threads)

    ok, refused = settle(outcomes, {"issue": (errors.InvalidState,)})
    assert count(ok, "issue") == 1
    assert count(refused, "issue") == threads - 1
    assert memo_row(db, memo_id).status == MS.ISSUED
    assert journal_count(db, memo_id, EntryKind.MEMO_ISSUE) == 1
    restocks = activities(db, memo_id)
    assert [(a.variant_id, a.quantity, a.kind) for a in restocks] == [
        (variant_id, 3, "credit_memo_restock")]  # the service line restocks nothing
    with db.read() as s:
        assert s.get(models.Variant, variant_id).stock_on_hand == 13  # type: ignore[union-attr]
    assert_books(db, actor)


def test_l2_concurrent_issue_restocks_and_posts_once(pg_db):
    _l2_issue_once(pg_db, threads=32)


@SQLITE
def test_l2_concurrent_issue_restocks_and_posts_once_sqlite(db):
    _l2_issue_once(db, threads=12)


def _l4_void_once(db: Database, *, threads: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    variant_id = factories.variant(db, actor, "RTR-1", stock=10)
    memo_id = _variant_memo(db, actor, cus, variant_id)
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=memo_id)

    outcomes = race([("void", lambda: memo_lifecycle.void_memo(
        db, actor=actor, memo_id=memo_id, reason="entered twice"))] * threads)

    ok, refused = settle(outcomes, {"void": (errors.InvalidState,)})
    assert count(ok, "void") == 1
    assert count(refused, "void") == threads - 1
    assert journal_count(db, memo_id, EntryKind.MEMO_ISSUE) == 1
    assert journal_count(db, memo_id, EntryKind.MEMO_VOID) == 1
    assert sorted(a.quantity for a in activities(db, memo_id)) == [-3, 3]
    with db.read() as s:
        assert s.get(models.Variant, variant_id).stock_on_hand == 10  # type: ignore[union-attr]
    assert_books(db, actor)


def test_l4_concurrent_void_reverses_once(pg_db):
    _l4_void_once(pg_db, threads=24)


@SQLITE
def test_l4_concurrent_void_reverses_once_sqlite(db):
    _l4_void_once(db, threads=10)


# --- L4/L5 against A1: void racing applications of the same memo --------------------------

def _void_vs_apply(db: Database, *, rounds: int, appliers: int, voiders: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cus, "5000.00")
    seen = set()
    for _ in range(rounds):
        memo_id = factories.memo(db, actor, cus, "100.00")
        calls: Calls = [
            ("apply", lambda m=memo_id: credit.apply_credit(
                db, actor=actor, memo_id=m, invoice_id=inv, amount="10.00"))] * appliers
        calls += [("void", lambda m=memo_id: memo_lifecycle.void_memo(
            db, actor=actor, memo_id=m, reason="customer cancelled"))] * voiders
        # apply after a void (or after the memo is used up) is invalid_state; void after an
        # application is memo_has_applications (L5); a second void is invalid_state.
        ok, refused = settle(race(calls), {
            "apply": (errors.InvalidState,),
            "void": (errors.MemoHasApplications, errors.InvalidState)})
        memo = memo_row(db, memo_id)
        if count(ok, "void"):
            seen.add("void won")
            assert count(ok, "void") == 1 and count(ok, "apply") == 0
            assert memo.status == MS.VOID and memo.applied_minor == 0
            assert applications_sum(db, memo_id=memo_id) == 0
            assert journal_count(db, memo_id, EntryKind.MEMO_VOID) == 1
        else:
            seen.add("apply won")
            assert count(ok, "apply") == min(appliers, 10)
            assert all(isinstance(o.error, errors.MemoHasApplications)
                       for o in refused.get("void", []))
            assert memo.applied_minor == applications_sum(db, memo_id=memo_id) == 1000 * min(
                appliers, 10)
            assert journal_count(db, memo_id, EntryKind.MEMO_VOID) == 0
        assert_books(db, actor)
    assert seen  # which side wins each round is up to the scheduler; both are checked


def test_l5_a6_concurrent_void_and_apply_on_one_memo(pg_db):
    _void_vs_apply(pg_db, rounds=6, appliers=16, voiders=8)


@SQLITE
def test_l5_a6_concurrent_void_and_apply_on_one_memo_sqlite(db):
    _void_vs_apply(db, rounds=3, appliers=8, voiders=4)


# --- U2 against A2: removing credit while it is being applied -----------------------------

def _apply_vs_remove(db: Database, *, appliers: int, removers: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    memo_id = factories.memo(db, actor, cus, "100.00")
    inv_x = factories.invoice(db, actor, cus, "1000.00")
    inv_y = factories.invoice(db, actor, cus, "1000.00")
    credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=inv_x, amount="30.00")
    credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=inv_y, amount="10.00")

    calls: Calls = []
    for i in range(appliers):
        inv = inv_x if i % 2 else inv_y
        calls.append(("apply", lambda inv=inv: credit.apply_credit(
            db, actor=actor, memo_id=memo_id, invoice_id=inv, amount="10.00")))
    for i in range(removers):
        inv = inv_y if i % 2 else inv_x
        calls.append(("remove", lambda inv=inv: credit.remove_credit(
            db, actor=actor, memo_id=memo_id, invoice_id=inv)))

    # apply refused only when the memo is used up (applied -> invalid_state); remove refused
    # only when that invoice has nothing of this memo any more (not_found).
    ok, _ = settle(race(calls), {"apply": (errors.InvalidState,),
                                 "remove": (errors.NotFound,)})
    memo = memo_row(db, memo_id)
    with db.read() as s:
        removed = s.scalars(select(models.AuditEvent.data).where(
            models.AuditEvent.entity_id == memo_id,
            models.AuditEvent.action == "credit_memo.remove")).all()
    removed_minor = sum(int(d["amount"].replace(".", "")) for d in removed)
    assert len(removed) == count(ok, "remove")
    # Conservation: what is applied now is what was applied, plus successes, minus removals.
    assert memo.applied_minor == 4000 + 1000 * count(ok, "apply") - removed_minor
    assert memo.applied_minor == applications_sum(db, memo_id=memo_id)
    assert memo.applied_minor == (invoice_row(db, inv_x).credited_minor
                                  + invoice_row(db, inv_y).credited_minor)
    assert_books(db, actor)


def test_u2_a6_concurrent_apply_and_remove_on_one_memo(pg_db):
    _apply_vs_remove(pg_db, appliers=20, removers=8)


@SQLITE
def test_u2_a6_concurrent_apply_and_remove_on_one_memo_sqlite(db):
    _apply_vs_remove(db, appliers=8, removers=4)


# --- A5 / I4: payments and credit racing on one invoice -----------------------------------

PAY_CAPS = [
    pytest.param("100.00", errors.InvalidState, id="invoice-100.00-paid"),
    pytest.param("95.00", errors.ExceedsInvoiceBalance, id="invoice-95.00-5.00-due"),
]


def _payments_and_credit(db: Database, *, invoice_total: str, refusal: type[errors.DomainError],
                         each_side: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cus, invoice_total)
    memo_ids = [factories.memo(db, actor, cus, "20.00") for _ in range(each_side // 2)]
    calls: Calls = [
        ("pay", lambda: invoices.record_payment(db, actor=actor, invoice_id=inv,
                                                amount="10.00"))] * each_side
    calls += [("apply", lambda m=m: credit.apply_credit(
        db, actor=actor, memo_id=m, invoice_id=inv, amount="10.00"))
        for m in memo_ids for _ in range(2)]

    ok, _ = settle(race(calls), {"pay": (refusal,), "apply": (refusal,)})
    row = invoice_row(db, inv)
    fits = row.total_minor // 1000  # how many 10.00 requests the invoice can take
    assert count(ok, "pay") + count(ok, "apply") == fits
    assert row.paid_minor == 1000 * count(ok, "pay")
    assert row.credited_minor == 1000 * count(ok, "apply") == applications_sum(db, invoice_id=inv)
    assert row.paid_minor + row.credited_minor == fits * 1000 <= row.total_minor  # I4, A5
    je = models.JournalEntry
    with db.read() as s:
        payment_entries = s.scalar(select(func.count()).select_from(je).where(
            je.partner_id == actor.partner_id, je.kind == EntryKind.PAYMENT.value))
    assert payment_entries == count(ok, "pay")
    assert_books(db, actor)


@pytest.mark.parametrize(("invoice_total", "refusal"), PAY_CAPS)
def test_a5_i4_concurrent_payments_and_credit_on_one_invoice(pg_db, invoice_total, refusal):
    _payments_and_credit(pg_db, invoice_total=invoice_total, refusal=refusal, each_side=16)


@SQLITE
@pytest.mark.parametrize(("invoice_total", "refusal"), PAY_CAPS)
def test_a5_i4_concurrent_payments_and_credit_on_one_invoice_sqlite(db, invoice_total, refusal):
    _payments_and_credit(db, invoice_total=invoice_total, refusal=refusal, each_side=8)


# --- the lock order: every use case at once, across customers sharing variants ------------

def _lock_order(db: Database, *, rounds: int) -> None:
    """Use cases that touch different rows but share customers and variants, all at once:
    with one lock order (customer, memo, invoice, variants by id) none waits in a cycle, so
    every one of them succeeds; PostgreSQL would abort one of a cycle as a deadlock."""
    actor = new_actor(db)
    v1 = factories.variant(db, actor, "SKU-A", stock=100)
    v2 = factories.variant(db, actor, "SKU-B", stock=100)
    customers_ = [factories.customer(db, actor, f"Customer {c}") for c in "AB"]

    def lines(first: str, second: str) -> list[dict]:
        return [{"description": "x", "quantity": 1, "unit_price": "5.00", "variant_id": first},
                {"description": "y", "quantity": 2, "unit_price": "5.00", "variant_id": second}]

    for r in range(rounds):
        calls: Calls = []
        for c, cus in enumerate(customers_):
            # opposite line orders for the two customers, and for memos against invoices
            fwd, back = ((v1, v2), (v2, v1)) if (c + r) % 2 == 0 else ((v2, v1), (v1, v2))
            draft_memo = memos.create_memo(db, actor=actor, customer_id=cus,
                                           reason="returned_goods", lines=lines(*fwd)).id
            draft_inv = invoices.create_invoice(db, actor=actor, customer_id=cus,
                                                lines=lines(*back)).id
            void_me = memos.create_memo(db, actor=actor, customer_id=cus,
                                        reason="returned_goods", lines=lines(*back)).id
            memo_lifecycle.issue_memo(db, actor=actor, memo_id=void_me)
            open_inv = factories.invoice(db, actor, cus, "500.00")
            applied = factories.memo(db, actor, cus, "50.00")
            credit.apply_credit(db, actor=actor, memo_id=applied, invoice_id=open_inv,
                                amount="20.00")
            fresh = factories.memo(db, actor, cus, "50.00")
            calls += [
                ("issue memo", lambda m=draft_memo: memo_lifecycle.issue_memo(
                    db, actor=actor, memo_id=m)),
                ("issue invoice", lambda i=draft_inv: invoices.issue_invoice(
                    db, actor=actor, invoice_id=i)),
                ("void memo", lambda m=void_me: memo_lifecycle.void_memo(
                    db, actor=actor, memo_id=m, reason="wrong items")),
                ("apply", lambda m=fresh, i=open_inv: credit.apply_credit(
                    db, actor=actor, memo_id=m, invoice_id=i, amount="15.00")),
                ("remove", lambda m=applied, i=open_inv: credit.remove_credit(
                    db, actor=actor, memo_id=m, invoice_id=i)),
                ("pay", lambda i=open_inv: invoices.record_payment(
                    db, actor=actor, invoice_id=i, amount="25.00")),
                ("create memo", lambda cus=cus, fwd=fwd: memos.create_memo(
                    db, actor=actor, customer_id=cus, reason="damaged_goods", lines=lines(*fwd))),
                ("create invoice", lambda cus=cus, back=back: invoices.create_invoice(
                    db, actor=actor, customer_id=cus, lines=lines(*back))),
            ]
        outcomes = race(calls)
        settle(outcomes, {})  # nothing here may be refused, least of all as a deadlock
        assert_books(db, actor)


def test_lock_order_concurrent_use_cases_never_deadlock(pg_db):
    _lock_order(pg_db, rounds=8)


@SQLITE
def test_lock_order_concurrent_use_cases_never_deadlock_sqlite(db):
    _lock_order(db, rounds=2)


# --- M4 under a race: the pair is checked again on the locked rows -------------------------

def test_m4_apply_rechecks_currency_on_locked_rows(pg_db, monkeypatch):
    """A draft's currency can change until it is issued. An application that began while
    the memo was a USD draft must, once its customer lock is granted, see the memo now
    issued in EUR and refuse with currency_mismatch (M4), not crash comparing EUR with USD.
    PostgreSQL only: on SQLite the IMMEDIATE transaction holds the write lock from its
    start, so this interleaving can't happen there."""
    db = pg_db
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cus, "100.00")
    memo_id = factories.memo(db, actor, cus, "10.00", issue=False)
    read_done, go = threading.Event(), threading.Event()
    applier: list[threading.Thread] = []
    real_lock_owner = locks.lock_owner

    def paused_lock_owner(session, partner_id, model, row_id):
        if applier and threading.current_thread() is applier[0]:
            read_done.set()  # the applier has begun, and not locked anything yet
            assert go.wait(JOIN_TIMEOUT)
        return real_lock_owner(session, partner_id, model, row_id)

    monkeypatch.setattr(locks, "lock_owner", paused_lock_owner)
    outcome = Outcome("apply")

    def apply() -> None:
        try:
            outcome.value = credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=inv,
                                                amount="10.00")
        except BaseException as exc:
            outcome.error = exc

    applier.append(threading.Thread(target=apply, daemon=True))
    applier[0].start()
    assert read_done.wait(JOIN_TIMEOUT)
    memos.update_memo(db, actor=actor, memo_id=memo_id, changes={"currency": "EUR"})
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=memo_id)
    go.set()
    applier[0].join(JOIN_TIMEOUT)
    assert not applier[0].is_alive(), "deadlock: the applier never finished"

    assert isinstance(outcome.error, errors.CurrencyMismatch), repr(outcome.error)
    assert memo_row(db, memo_id).applied_minor == 0
    assert invoice_row(db, inv).credited_minor == 0
    assert_books(db, actor)
