"""Y11-Y13 written once, run against each system CreditDesk calls: QuickBooks Online ($0
Payments), Xero (Allocations) and Sage Intacct (ARPYMTs), over real HTTP against their
fakes. (QuickBooks Desktop writes through the Web Connector's next session: its own tests.)

Each behaviour: the application is pending, then applied with exactly one record in the
system and the system's figures here; a lost answer is read back before any retry (still one
record); a refusal keeps the system's words and changes nothing; removal takes the record
away there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import integrations, sync, write_back
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import credit
from creditdesk.web import urls
from creditdesk_devtools.fakes.xero_state import CONTACT
from tests.intacct_fixtures import BANK, COMPANY, FakeIntacct
from tests.qbo_fixtures import REALM, FakeQbo
from tests.xero_fixtures import TENANT, FakeXero

SYSTEMS = ("quickbooks_online", "xero", "sage_intacct")


@dataclass
class Writing:
    """What these tests do with one fake system."""

    key: str
    connect: Callable[[Database, Actor], str]
    factory: Callable[[], sync.ConnectorFactory]
    add_memo: Callable[[str], str]  # total → the system's id
    add_invoice: Callable[[str], str]
    use_credit: Callable[[str, str], None]  # memo, remaining: credit used in the system
    give_back: Callable[[str], None]  # memo: its whole credit available again there
    records: Callable[[str], int]  # live write-back records naming the memo
    lose_next_answer: Callable[[], None]  # the next write is made, its answer lost
    later: Callable[[], None]  # the system's clock a minute on: what follows is newer
    customer: str = ""  # the system's id of the memos' and invoices' customer


def _qbo(fake: FakeQbo) -> Writing:
    st = fake.state

    def records(memo: str) -> int:
        return sum(1 for p in st.companies[REALM].payments.values()
                   if any(line["LinkedTxn"][0] == {"TxnId": memo, "TxnType": "CreditMemo"}
                          for line in p["Line"]))
    return Writing("quickbooks_online", fake.connect, fake.factory,
                   lambda total: st.add_memo(REALM, total=total),
                   lambda total: st.add_invoice(REALM, total=total),
                   lambda memo, left: st.apply_credit(REALM, memo, left),
                   lambda memo: st.apply_credit(REALM, memo, "100.00"), records,
                   lambda: st.inject("timeout"), lambda: st.travel(minutes=1), "58")


def _xero(fake: FakeXero) -> Writing:
    st = fake.state

    def records(memo: str) -> int:
        return sum(1 for a in st.orgs[TENANT].notes[memo]["Allocations"]
                   if not a.get("IsDeleted"))

    def use(memo: str, left: str) -> None:
        st.update_note(TENANT, memo, RemainingCredit=left)

    def later() -> None:
        st.frozen = st.now() + timedelta(minutes=1)
    return Writing("xero", fake.connect, fake.factory,
                   lambda total: st.add_credit_note(TENANT, total=total),
                   lambda total: st.add_invoice(TENANT, subtotal=total), use,
                   lambda memo: use(memo, "100.00"), records,
                   lambda: st.inject("timeout"), later, CONTACT)


def _intacct(fake: FakeIntacct) -> Writing:
    st = fake.state

    def connect(db: Database, actor: Actor) -> str:
        fields = {**fake.credentials().to_dict(), "financial_entity": BANK.financial_entity}
        return integrations.connect(db, actor=actor, settings=urls.provider_settings(),
                                    client=fake.client, provider="sage_intacct",
                                    fields=fields).id

    def records(memo: str) -> int:
        company = st.companies[COMPANY]
        return sum(1 for no, details in company.payment_details.items()
                   if company.payments[no]["STATE"] != "Reversed"
                   and any(d["ADJUSTMENTKEY"] == memo for d in details))

    def use(memo: str, left: str) -> None:
        st.tick(2)
        st.apply_credit(COMPANY, memo, str(-Decimal(left)))

    def factory() -> sync.ConnectorFactory:
        return sync_jobs.connector_factory(fake.client, retry=fake.retry())
    return Writing("sage_intacct", connect, factory,
                   lambda total: st.add_adjustment(COMPANY, total=str(-Decimal(total))),
                   lambda total: st.add_invoice(COMPANY, total=total), use,
                   lambda memo: use(memo, "100.00"), records,
                   # the session is opened first, then the payment is created
                   lambda: st.inject_after(1, "timeout"), lambda: st.tick(60), "C-0058")


@pytest.fixture(params=SYSTEMS)
def system(request: pytest.FixtureRequest) -> Writing:
    build: dict[str, tuple[str, Callable[[Any], Writing]]] = {
        "quickbooks_online": ("fake_qbo", _qbo), "xero": ("fake_xero", _xero),
        "sage_intacct": ("fake_intacct", _intacct)}
    fixture, make = build[request.param]
    return make(request.getfixturevalue(fixture))


@dataclass
class Pair:
    integration: str
    memo_ext: str
    invoice_ext: str
    memo_id: str
    invoice_id: str


def pair(db: Database, actor: Actor, s: Writing, credit_total: str = "100.00",
         invoice_total: str = "80.00") -> Pair:
    memo_ext, invoice_ext = s.add_memo(credit_total), s.add_invoice(invoice_total)
    integration = s.connect(db, actor)
    run(db, s, integration)
    with db.read() as session:
        memo_id = session.scalars(select(models.CreditMemo.id).where(
            models.CreditMemo.source == s.key, models.CreditMemo.external_id == memo_ext)).one()
        invoice_id = session.scalars(select(models.Invoice.id).where(
            models.Invoice.source == s.key, models.Invoice.external_id == invoice_ext)).one()
    return Pair(integration, memo_ext, invoice_ext, memo_id, invoice_id)


def run(db: Database, s: Writing, integration: str) -> None:
    run_id = sync.request_run(db, integration_id=integration, trigger="manual")
    assert sync.claim_next(db, integration_id=integration) == run_id
    sync.execute(db, run_id, s.factory())


def drain(db: Database, s: Writing) -> None:
    write_back.run_due(db, s.factory(), retry_base_seconds=0)
    sync_jobs.run_pending(db, s.factory())


def app_rows(db: Database, memo_id: str) -> list[models.CreditApplication]:
    with db.read() as session:
        return list(session.scalars(select(models.CreditApplication).where(
            models.CreditApplication.credit_memo_id == memo_id)))


def figures(db: Database, p: Pair) -> tuple[int, int]:
    """(the memo's applied amount, the invoice's balance due) here."""
    with db.read() as session:
        memo = session.get_one(models.CreditMemo, p.memo_id)
        inv = session.get_one(models.Invoice, p.invoice_id)
        return memo.applied_minor, inv.total_minor - inv.paid_minor - inv.credited_minor


def test_y11_pending_then_applied_with_one_record_and_the_systems_figures(
        db: Database, actor: Actor, system: Writing) -> None:
    p = pair(db, actor, system)
    applied = credit.apply_credit(db, actor=actor, memo_id=p.memo_id, invoice_id=p.invoice_id,
                                  amount="30.00")
    assert applied.application.status == "pending"
    assert system.records(p.memo_ext) == 0  # nothing leaves inside the request
    drain(db, system)
    [row] = app_rows(db, p.memo_id)
    assert (row.status, row.write_back_error) == ("applied", None)
    assert row.write_back_external_id
    assert system.records(p.memo_ext) == 1
    assert figures(db, p) == (3000, 5000)


def test_y12_a_lost_answer_is_read_back_and_makes_one_record(
        db: Database, actor: Actor, system: Writing) -> None:
    p = pair(db, actor, system)
    credit.apply_credit(db, actor=actor, memo_id=p.memo_id, invoice_id=p.invoice_id,
                        amount="25.00")
    system.lose_next_answer()  # made in the system; the answer comes too late
    write_back.run_due(db, system.factory(), retry_base_seconds=0)
    assert [r.status for r in app_rows(db, p.memo_id)] == ["pending"]
    drain(db, system)
    assert [r.status for r in app_rows(db, p.memo_id)] == ["applied"]
    assert system.records(p.memo_ext) == 1
    assert figures(db, p) == (2500, 5500)


def test_y12_a_refusal_keeps_the_systems_words_and_changes_nothing(
        db: Database, actor: Actor, system: Writing) -> None:
    p = pair(db, actor, system)
    system.use_credit(p.memo_ext, "5.00")  # used in the system; not synced here yet
    credit.apply_credit(db, actor=actor, memo_id=p.memo_id, invoice_id=p.invoice_id,
                        amount="20.00")
    write_back.run_due(db, system.factory(), retry_base_seconds=0)
    [row] = app_rows(db, p.memo_id)
    assert row.status == "failed" and row.write_back_error
    assert system.records(p.memo_ext) == 0
    assert figures(db, p) == (0, 8000)


def test_y13_removal_takes_the_record_away_in_the_system(
        db: Database, actor: Actor, system: Writing) -> None:
    p = pair(db, actor, system)
    credit.apply_credit(db, actor=actor, memo_id=p.memo_id, invoice_id=p.invoice_id,
                        amount="40.00")
    drain(db, system)
    removed = credit.remove_credit(db, actor=actor, memo_id=p.memo_id, invoice_id=p.invoice_id)
    assert removed.pending
    drain(db, system)
    assert app_rows(db, p.memo_id) == []
    assert system.records(p.memo_ext) == 0
    assert figures(db, p) == (0, 8000)


def test_y14_an_application_made_in_the_system_directly_shows_up_then_goes_with_it(
        db: Database, actor: Actor, system: Writing) -> None:
    p = pair(db, actor, system)
    direct = base.CreditWrite(application_id="made-there", request_key="made-there",
                              memo_external_id=p.memo_ext, invoice_external_id=p.invoice_ext,
                              customer_external_id=system.customer, currency="USD",
                              amount_minor=1500, on=date(2025, 3, 10))
    snap = sync.snapshot(db, p.integration)
    writer = system.factory()(snap, lambda tokens: None)
    assert isinstance(writer, base.CreditWriter)
    record = writer.write_credit(direct).external_id
    run(db, system, p.integration)
    [row] = app_rows(db, p.memo_id)
    assert (row.origin, row.status, row.write_back_external_id, row.amount_minor) == (
        "source_system", "applied", record, 1500)
    assert figures(db, p) == (1500, 6500)
    run(db, system, p.integration)
    assert len(app_rows(db, p.memo_id)) == 1  # never doubled
    writer.remove_credit(direct, record)
    run(db, system, p.integration)
    assert app_rows(db, p.memo_id) == []
    assert figures(db, p) == (0, 8000)


def test_y14_a_write_back_the_system_never_received_is_marked_failed_by_a_later_sync(
        db: Database, actor: Actor, system: Writing) -> None:
    p = pair(db, actor, system)
    app = credit.apply_credit(db, actor=actor, memo_id=p.memo_id, invoice_id=p.invoice_id,
                              amount="10.00").application
    system.later()
    system.add_memo("5.00")  # a newer change: the incremental reads move past the pair's memo
    run(db, system, p.integration)
    # sent an hour ago, its answer lost, and nothing of it in the system; nothing changes
    # there that would bring the memo into an incremental read
    with db.write() as s:
        s.execute(update(models.CreditApplication).where(
            models.CreditApplication.id == app.id).values(
            write_back_sent_at=clock.now() - timedelta(hours=1),
            write_back_next_at=clock.now() + timedelta(hours=1)))
    run(db, system, p.integration)
    [row] = app_rows(db, p.memo_id)
    assert row.status == "failed"
    assert row.write_back_error and "never received" in row.write_back_error
    assert system.records(p.memo_ext) == 0
    assert figures(db, p) == (0, 8000)  # never silently applied


def test_y12_a_refused_write_back_retried_is_sent_afresh_and_made_once(
        db: Database, actor: Actor, system: Writing) -> None:
    """A refusal made nothing: the retry gets a new idempotency key (a system that
    remembers the old one — QuickBooks Online's requestid — would replay the refusal)."""
    p = pair(db, actor, system)
    system.use_credit(p.memo_ext, "5.00")  # used in the system: the write is refused
    app = credit.apply_credit(db, actor=actor, memo_id=p.memo_id, invoice_id=p.invoice_id,
                              amount="20.00").application
    write_back.run_due(db, system.factory(), retry_base_seconds=0)
    [failed] = app_rows(db, p.memo_id)
    assert failed.status == "failed" and failed.write_back_sent_at is None
    run(db, system, p.integration)  # the credit used there, synced here
    system.give_back(p.memo_ext)  # …and given back there
    run(db, system, p.integration)
    credit.retry_write_back(db, actor=actor, memo_id=p.memo_id, application_id=app.id)
    [again] = app_rows(db, p.memo_id)
    assert again.write_back_key != failed.write_back_key
    drain(db, system)
    assert [r.status for r in app_rows(db, p.memo_id)] == ["applied"]
    assert system.records(p.memo_ext) == 1
