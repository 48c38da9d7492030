"""Concurrency of credit: applications, removals, payments and voids racing on one memo or
invoice (A5, A6, I4, L5, M4, U2).

PostgreSQL (``pg_db``) is where row locks matter: every scenario runs there at full size.
SQLite has no row locks; its write transactions begin IMMEDIATE and so must serialise the
same races, without a single "database is locked": each rule has a smaller SQLite variant.
The racing helpers are in ``tests/concurrency.py``.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain.application import InvoiceStatus
from creditdesk.domain.journal import EntryKind
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.invoicing import invoices
from tests import factories
from tests.concurrency import (
    JOIN_TIMEOUT,
    MS,
    SQLITE,
    Calls,
    Outcome,
    applications_sum,
    assert_books,
    count,
    invoice_row,
    journal_count,
    memo_row,
    new_actor,
    race,
    settle,
)

pytestmark = pytest.mark.slow

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
