"""Y11-Y14: synced credit applied here and written back, over real HTTP against the fake
Xero (its Allocations endpoint, Idempotency-Key, refusals and faults): pending until Xero
answers, then applied with Xero's figures; at most once when the answer is lost (read before
retry); a refusal in Xero's words that changes nothing; removal, cancel and retry; two people
applying the same credit at once; applications made or removed in Xero directly."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import write_back
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import credit
from tests.concurrency import race
from tests.sync_helpers import synced_memos
from tests.xero_fixtures import TENANT, FakeXero


def synced_invoice(db: Database, external_id: str) -> models.Invoice:
    with db.read() as s:
        return s.scalars(select(models.Invoice).where(
            models.Invoice.source == "xero", models.Invoice.external_id == external_id)).one()


def memo_row(db: Database, memo_id: str) -> models.CreditMemo:
    with db.read() as s:
        return s.get_one(models.CreditMemo, memo_id)


def applications(db: Database, memo_id: str) -> list[models.CreditApplication]:
    with db.read() as s:
        return list(s.scalars(select(models.CreditApplication).where(
            models.CreditApplication.credit_memo_id == memo_id)
            .order_by(models.CreditApplication.id)))


def allocations(fake: FakeXero, note_id: str) -> list[dict[str, object]]:
    return list(fake.state.orgs[TENANT].notes[note_id]["Allocations"])


def drain(db: Database, fake: FakeXero) -> list[str]:
    """What the job runner does in a tick: due write-backs, then the sync runs they queued."""
    done = write_back.run_due(db, fake.factory(), retry_base_seconds=0)
    sync_jobs.run_pending(db, fake.factory())
    return done


class Books:
    """A Xero credit note and two invoices of its customer, synced."""

    def __init__(self, db: Database, actor: Actor, fake: FakeXero, *, credit: str = "100.00",
                 invoices: tuple[str, ...] = ("80.00", "80.00")) -> None:
        st = fake.state
        self.note = st.add_credit_note(TENANT, total=credit)
        self.invoice_ids = [st.add_invoice(TENANT, subtotal=total) for total in invoices]
        self.integration = fake.connect(db, actor)
        fake.sync(db, self.integration)
        self.memo_id = synced_memos(db, "xero")[self.note].id
        self.invoices = [synced_invoice(db, ext).id for ext in self.invoice_ids]


def test_y11_synced_credit_is_pending_then_applied_with_the_systems_figures(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    applied = credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                                  amount="30.00")
    assert applied.application.status == "pending"
    assert applied.application.write_back is not None
    assert applied.application.write_back.system == "xero"
    # the figures stay Xero's until it has answered
    assert applied.credit_memo.remaining_amount.minor == 10000
    assert allocations(fake_xero, b.note) == []
    assert drain(db, fake_xero) == [applied.application.id]
    [row] = applications(db, b.memo_id)
    assert (row.status, row.write_back_error) == ("applied", None)
    [made] = allocations(fake_xero, b.note)
    assert row.write_back_external_id == made["AllocationID"]
    assert Decimal(str(made["Amount"])) == Decimal("30.00")
    # Xero's figures, read back
    assert memo_row(db, b.memo_id).applied_minor == 3000
    assert synced_invoice(db, b.invoice_ids[0]).paid_minor == 3000
    assert synced_invoice(db, b.invoice_ids[0]).status == "partially_paid"


def test_y12_a_lost_answer_is_read_before_any_retry_and_makes_one_allocation(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    # Xero's Idempotency-Key replay off: only reading before the retry can prevent a second
    # allocation (the key is the second line of defence, never the only one)
    fake_xero.state.idempotency = False
    app = credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                              amount="25.00").application
    fake_xero.state.inject("timeout")  # Xero makes the allocation; the answer comes too late
    write_back.run_due(db, fake_xero.factory(), retry_base_seconds=0)
    [row] = applications(db, b.memo_id)
    assert row.status == "pending" and row.write_back_sent_at is not None
    assert len(allocations(fake_xero, b.note)) == 1
    drain(db, fake_xero)  # the next attempt finds it instead of sending again
    [row] = applications(db, b.memo_id)
    assert (row.id, row.status) == (app.id, "applied")
    assert len(allocations(fake_xero, b.note)) == 1
    assert memo_row(db, b.memo_id).applied_minor == 2500


def test_y12_a_refusal_shows_xeros_words_and_changes_nothing_then_retry(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    # credit used in Xero meanwhile, not yet synced here: Xero refuses the allocation
    fake_xero.state.allocate(TENANT, b.note, "90.00")
    credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                        amount="50.00")
    write_back.run_due(db, fake_xero.factory(), retry_base_seconds=0)
    [row] = applications(db, b.memo_id)
    assert row.status == "failed"
    assert row.write_back_error and "remaining credit" in row.write_back_error.lower()
    assert memo_row(db, b.memo_id).applied_minor == 0  # nothing changed here
    assert len(allocations(fake_xero, b.note)) == 1  # only the one made in Xero
    # a failed write-back blocks nothing: it can be cancelled
    removed = credit.remove_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0])
    assert removed.pending is False
    assert applications(db, b.memo_id) == []


def test_y12_retry_sends_a_failed_write_back_again(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    fake_xero.state.update_note(TENANT, b.note, RemainingCredit="5.00")  # used in Xero
    app = credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                              amount="10.00").application
    write_back.run_due(db, fake_xero.factory(), retry_base_seconds=0)
    assert applications(db, b.memo_id)[0].status == "failed"
    with pytest.raises(errors.NotFound):
        credit.retry_write_back(db, actor=actor, memo_id=b.memo_id, application_id="app_nope")
    fake_xero.state.update_note(TENANT, b.note, RemainingCredit="100.00")  # given back there
    again = credit.retry_write_back(db, actor=actor, memo_id=b.memo_id, application_id=app.id)
    assert again.status == "pending"
    with pytest.raises(errors.InvalidState, match="only a failed write-back"):
        credit.retry_write_back(db, actor=actor, memo_id=b.memo_id, application_id=app.id)
    with pytest.raises(errors.WriteBackPending):
        credit.remove_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0])
    drain(db, fake_xero)
    assert applications(db, b.memo_id)[0].status == "applied"
    assert len(allocations(fake_xero, b.note)) == 1


def test_y13_removal_deletes_the_allocation_in_xero(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                        amount="40.00")
    drain(db, fake_xero)
    removed = credit.remove_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0])
    assert removed.pending is True
    [row] = applications(db, b.memo_id)
    assert (row.status, row.write_back_action) == ("pending", "remove")
    with pytest.raises(errors.WriteBackPending):
        credit.remove_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0])
    drain(db, fake_xero)
    assert applications(db, b.memo_id) == []
    assert allocations(fake_xero, b.note) == []
    assert memo_row(db, b.memo_id).applied_minor == 0
    assert synced_invoice(db, b.invoice_ids[0]).status == "open"


def test_y11_native_and_synced_documents_never_meet(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    from tests import factories as f
    b = Books(db, actor, fake_xero)
    with db.read() as s:
        customer_id = s.get_one(models.CreditMemo, b.memo_id).customer_id
    native_invoice = f.invoice(db, actor, customer_id, "50.00")
    native_memo = f.memo(db, actor, customer_id, "20.00")
    with pytest.raises(errors.ReadOnly, match="synced from Xero"):
        credit.apply_credit(db, actor=actor, memo_id=native_memo, invoice_id=b.invoices[0],
                            amount="5.00")
    with pytest.raises(errors.ReadOnly, match="not a Xero invoice"):
        credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=native_invoice,
                            amount="5.00")


def test_y11_caps_count_what_pending_write_backs_hold(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                        amount="70.00")
    with pytest.raises(errors.ExceedsMemoRemaining):
        credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[1],
                            amount="40.00")
    credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[1],
                        amount="30.00")


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_y11_two_people_applying_the_same_credit_at_once_never_over_apply(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    outcomes = race([(f"apply-{i}", lambda i=i: credit.apply_credit(
        db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[i], amount="60.00"))
        for i in (0, 1)])
    refused = [o for o in outcomes if o.error is not None]
    assert len(refused) == 1 and isinstance(refused[0].error, errors.ExceedsMemoRemaining)
    drain(db, fake_xero)
    assert [a.status for a in applications(db, b.memo_id)] == ["applied"]
    assert len(allocations(fake_xero, b.note)) == 1
    note = fake_xero.state.orgs[TENANT].notes[b.note]
    assert Decimal(str(note["RemainingCredit"])) == Decimal("40.00")


def direct(b: Books, invoice: int, amount_minor: int) -> base.CreditWrite:
    """An allocation as someone makes it in Xero directly (through the fake's API, not
    through CreditDesk)."""
    return base.CreditWrite(application_id="in-xero", request_key=f"in-xero-{amount_minor}",
                            memo_external_id=b.note, invoice_external_id=b.invoice_ids[invoice],
                            customer_external_id="", currency="USD",
                            amount_minor=amount_minor, on=date(2025, 3, 10))


def test_y14_applications_made_or_removed_in_xero_directly_show_up_at_the_next_sync(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    record = fake_xero.connector().write_credit(direct(b, 1, 1500)).external_id
    fake_xero.sync(db, b.integration)
    [row] = applications(db, b.memo_id)
    assert (row.origin, row.status, row.invoice_id, row.amount_minor,
            row.write_back_external_id) == ("source_system", "applied", b.invoices[1], 1500,
                                            record)
    assert memo_row(db, b.memo_id).applied_minor == 1500  # Xero's figure
    # it can't be removed here: it was made there
    with pytest.raises(errors.ReadOnly, match="in Xero directly"):
        credit.remove_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[1])
    fake_xero.sync(db, b.integration)  # again: nothing doubled
    assert len(applications(db, b.memo_id)) == 1
    # removed in Xero directly → removed here at the next sync
    fake_xero.connector().remove_credit(direct(b, 1, 1500), record)
    fake_xero.sync(db, b.integration)
    assert applications(db, b.memo_id) == []
    assert memo_row(db, b.memo_id).applied_minor == 0


def test_y14_a_write_back_xero_never_received_is_marked_failed_by_the_sync(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    app = credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                              amount="10.00").application
    # sent an hour ago, its answer lost, and nothing of it in Xero
    with db.write() as s:
        s.execute(update(models.CreditApplication).where(
            models.CreditApplication.id == app.id).values(
            write_back_sent_at=clock.now() - timedelta(hours=1),
            write_back_next_at=clock.now() + timedelta(hours=1)))
    fake_xero.sync(db, b.integration)
    [row] = applications(db, b.memo_id)
    assert row.status == "failed"
    assert row.write_back_error and "never received" in row.write_back_error
    assert allocations(fake_xero, b.note) == []
