"""Applications of synced credit written back to Xero as Allocations (Y11-Y13), over real HTTP
against the fake Xero."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from creditdesk.connectors import base, xero, xero_writes
from creditdesk_devtools.fakes import xero_allocations as refusals
from creditdesk_devtools.fakes.xero_state import READ_SCOPE
from tests.xero_fixtures import TENANT, FakeXero

CONTACT = "a1f0c2d4-1111-4222-8333-944455556666"
ON = date(2025, 3, 10)


def credit_write(note: str, invoice: str, minor: int, *, on: date = ON,
                 key: str | None = None) -> base.CreditWrite:
    return base.CreditWrite(application_id=str(uuid.uuid4()), request_key=key or uuid.uuid4().hex,
                            memo_external_id=note, invoice_external_id=invoice,
                            customer_external_id=CONTACT, currency="USD", amount_minor=minor,
                            on=on)


def books(fake: FakeXero, credit: str = "100.00", owed: str = "150.00") -> tuple[str, str]:
    """A credit note and an invoice of the same contact: (note id, invoice id)."""
    return (fake.state.add_credit_note(TENANT, total=credit),
            fake.state.add_invoice(TENANT, subtotal=owed))


def note_of(fake: FakeXero, note: str) -> dict[str, Any]:
    return fake.state.orgs[TENANT].notes[note]


def invoice_of(fake: FakeXero, invoice: str) -> dict[str, Any]:
    return fake.state.orgs[TENANT].invoices[invoice]


def test_y11_write_credit_makes_one_allocation_with_the_idempotency_key(
        fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    write = credit_write(note, invoice, 4000)
    written = fake_xero.connector().write_credit(write)
    allocations = note_of(fake_xero, note)["Allocations"]
    assert [a["AllocationID"] for a in allocations] == [written.external_id]
    assert (allocations[0]["Amount"], allocations[0]["Invoice"]["InvoiceID"]) == (40.0, invoice)
    assert note_of(fake_xero, note)["RemainingCredit"] == 60.0
    assert invoice_of(fake_xero, invoice)["AmountDue"] == 110.0
    assert write.request_key in fake_xero.state.orgs[TENANT].answered  # the header was sent
    put = [r for r in fake_xero.state.requests if r.startswith("PUT ")]
    assert put == [f"PUT /api.xro/2.0/CreditNotes/{note}/Allocations? If-Modified-Since: None"]
    # what the engine then reads: the system's balances after it answered
    found = {r.external_id: r for b in fake_xero.connector().fetch_targets(
        {note: base.CHANGED, base.invoice_key(invoice): base.CHANGED}) for r in b.records}
    assert found[note].remaining_minor == 6000  # type: ignore[union-attr]
    assert found[invoice].balance_minor == 11000  # type: ignore[union-attr]


def test_y11_the_body_is_xeros_allocation_with_an_exact_amount() -> None:
    write = credit_write("n1", "e3b7c0de-0000-4000-8000-000000000317", 10005)
    raw = xero_writes.allocation_body(write).decode()
    assert json.loads(raw, parse_float=Decimal) == {"Allocations": [{
        "Amount": Decimal("100.05"), "Date": "2025-03-10",
        "Invoice": {"InvoiceID": "e3b7c0de-0000-4000-8000-000000000317"}}]}
    assert '"Amount": 100.05,' in raw  # a JSON number with the currency's digits


def test_y11_full_allocation_pays_the_invoice_and_uses_up_the_note(fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero, credit="80.00", owed="80.00")
    fake_xero.connector().write_credit(credit_write(note, invoice, 8000))
    assert (note_of(fake_xero, note)["Status"], invoice_of(fake_xero, invoice)["Status"]) == (
        "PAID", "PAID")
    assert invoice_of(fake_xero, invoice)["CreditNotes"][0]["AppliedAmount"] == 80.0


def test_y11_an_answer_without_allocation_id_is_read_back_from_the_note(
        fake_xero: FakeXero) -> None:
    fake_xero.state.allocation_id_in_answer = False  # as the spec's example answer
    note, invoice = books(fake_xero)
    written = fake_xero.connector().write_credit(credit_write(note, invoice, 2500))
    assert written.external_id == note_of(fake_xero, note)["Allocations"][0]["AllocationID"]
    assert written.memo is not None and written.memo.remaining_minor == 7500


@pytest.mark.parametrize(("case", "words"), [
    ("over_credit", refusals.OVER_CREDIT), ("over_due", refusals.OVER_DUE),
    ("paid", refusals.PAID_OFF), ("other_contact", refusals.OTHER_CONTACT),
    ("bill", refusals.WRONG_TYPE), ("locked", refusals.LOCKED),
    ("no_invoice", refusals.NO_INVOICE)])
def test_y12_a_refusal_carries_xeros_words_and_changes_nothing(
        fake_xero: FakeXero, case: str, words: str) -> None:
    st = fake_xero.state
    note, invoice = books(fake_xero, credit="50.00", owed="30.00")
    minor = {"over_credit": 6000, "over_due": 4000}.get(case, 1000)
    if case == "paid":
        st.pay_invoice(TENANT, invoice, "30.00")
    if case == "other_contact":
        invoice = st.add_invoice(TENANT, contact_id="00000000-0000-4000-8000-000000000099")
    if case == "bill":
        invoice = st.add_invoice(TENANT, kind="ACCPAY")
    if case == "locked":
        st.lock_date = ON
    if case == "no_invoice":
        invoice = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(base.WriteRefused) as refused:
        fake_xero.connector().write_credit(credit_write(note, invoice, minor))
    assert str(refused.value) == words
    assert note_of(fake_xero, note)["Allocations"] == []
    assert note_of(fake_xero, note)["RemainingCredit"] == 50.0


def test_y12_a_gone_credit_note_is_refused(fake_xero: FakeXero) -> None:
    invoice = fake_xero.state.add_invoice(TENANT)
    gone = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(base.WriteRefused, match="no such credit note"):
        fake_xero.connector().write_credit(credit_write(gone, invoice, 100))


def test_y12_validation_errors_on_a_200_are_a_refusal() -> None:
    body = {"Allocations": [{"Amount": 1, "ValidationErrors": [
        {"Message": "The invoice you are trying to allocate to has already been paid off"}]}]}
    assert xero_writes.validation_messages(body) == [
        "The invoice you are trying to allocate to has already been paid off"]
    assert xero_writes.validation_messages({"Type": "ValidationException",
                                            "Message": "A validation exception occurred"}) \
        == ["A validation exception occurred"]
    assert xero_writes.validation_messages({"Allocations": [{"ValidationErrors": []}]}) == []


def test_y12_lost_answer_then_find_credit_finds_exactly_one_and_a_repeat_makes_no_second(
        fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    write = credit_write(note, invoice, 4000)
    c = fake_xero.connector()
    fake_xero.state.inject("timeout")  # Xero makes the allocation; its answer is lost
    with pytest.raises(base.Transient, match="unknown"):
        c.write_credit(write)
    assert fake_xero.sleeps == []  # a write is never resent blind
    made = note_of(fake_xero, note)["Allocations"]
    assert len(made) == 1
    found = c.find_credit(write)
    assert found is not None and found.external_id == made[0]["AllocationID"]
    assert found.memo is not None and found.memo.remaining_minor == 6000
    again = c.write_credit(write)  # same Idempotency-Key: Xero's first answer again
    assert again.external_id == found.external_id
    assert len(note_of(fake_xero, note)["Allocations"]) == 1
    assert invoice_of(fake_xero, invoice)["AmountDue"] == 110.0


def test_y12_find_credit_works_when_xero_ignores_the_key(fake_xero: FakeXero) -> None:
    fake_xero.state.idempotency = False
    note, invoice = books(fake_xero)
    write = credit_write(note, invoice, 4000)
    c = fake_xero.connector()
    fake_xero.state.inject("timeout")
    with pytest.raises(base.Transient):
        c.write_credit(write)
    found = c.find_credit(write)
    assert found is not None
    assert [a["AllocationID"] for a in note_of(fake_xero, note)["Allocations"]] == [
        found.external_id]


def test_y12_find_credit_finds_an_allocation_xero_dated_later(fake_xero: FakeXero) -> None:
    note = fake_xero.state.add_credit_note(TENANT, total="100.00", date="2025-03-04")
    invoice = fake_xero.state.add_invoice(TENANT, date="2025-03-20")  # after ON
    write = credit_write(note, invoice, 4000)
    c = fake_xero.connector()
    fake_xero.state.inject("timeout")
    with pytest.raises(base.Transient):
        c.write_credit(write)
    made = note_of(fake_xero, note)["Allocations"]
    assert made[0]["Date"] == "/Date(1742428800000+0000)/"  # 2025-03-20, not ON
    found = c.find_credit(write)
    assert found is not None and found.external_id == made[0]["AllocationID"]


def test_y12_find_credit_matches_invoice_amount_and_date_only(fake_xero: FakeXero) -> None:
    st = fake_xero.state
    note, invoice = books(fake_xero, credit="200.00", owed="150.00")
    other = st.add_invoice(TENANT)
    c = fake_xero.connector()
    c.write_credit(credit_write(note, other, 4000))  # another invoice
    c.write_credit(credit_write(note, invoice, 3000))  # another amount
    c.write_credit(credit_write(note, invoice, 4000, on=date(2025, 3, 11)))  # another day
    write = credit_write(note, invoice, 4000)
    assert c.find_credit(write) is None
    assert c.find_credit(credit_write("00000000-0000-4000-8000-000000000000", invoice,
                                      4000)) is None  # the note is gone


def test_y12_a_5xx_on_a_write_is_transient_and_nothing_was_made(fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    write = credit_write(note, invoice, 4000)
    c = fake_xero.connector()
    fake_xero.state.inject("500")
    with pytest.raises(base.Transient, match="HTTP 500"):
        c.write_credit(write)
    assert c.find_credit(write) is None  # so the engine may send it again


def test_y12_throttling_is_waited_out_and_written_once(fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    fake_xero.state.retry_after = "2"
    fake_xero.state.inject("429", "503")
    fake_xero.connector().write_credit(credit_write(note, invoice, 4000))
    assert fake_xero.sleeps[0] == 2.0 and len(fake_xero.sleeps) == 2
    assert len(note_of(fake_xero, note)["Allocations"]) == 1


def test_y12_the_daily_limit_gives_up_at_once(fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    fake_xero.state.inject("429_day")
    with pytest.raises(base.Transient, match="daily API limit"):
        fake_xero.connector().write_credit(credit_write(note, invoice, 4000))
    assert fake_xero.sleeps == [] and note_of(fake_xero, note)["Allocations"] == []


def test_y12_an_expired_token_is_refreshed_and_the_write_made_once(fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    c = fake_xero.connector()
    fake_xero.state.inject("expired_token")
    c.write_credit(credit_write(note, invoice, 4000))
    assert len(c.saved) == 1  # type: ignore[attr-defined]
    assert len(note_of(fake_xero, note)["Allocations"]) == 1


def test_y12_a_revoked_connection_needs_reconnection(fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    c = fake_xero.connector()
    fake_xero.state.inject("revoked")
    with pytest.raises(base.NeedsReconnection, match="reconnect"):
        c.write_credit(credit_write(note, invoice, 4000))


@pytest.mark.parametrize("status", [401, 403])
def test_y12_a_read_only_connection_is_refused_with_how_to_grant_write(
        fake_xero: FakeXero, status: int) -> None:
    fake_xero.state.scope_refusal_status = status
    note, invoice = books(fake_xero)
    c = fake_xero.connector(scope=READ_SCOPE)  # connected before write-back existed
    assert len(list(c.fetch({}))) >= 2  # it still reads
    with pytest.raises(base.WriteRefused, match=r"Reconnect .* accounting\.transactions scope"):
        c.write_credit(credit_write(note, invoice, 4000))
    assert note_of(fake_xero, note)["Allocations"] == []


def test_connecting_asks_for_write_access(fake_xero: FakeXero) -> None:
    url = xero.authorize_url(fake_xero.settings, "state-1")
    scopes = parse_qs(urlparse(url).query)["scope"][0].split()
    assert "accounting.transactions" in scopes and "accounting.transactions.read" not in scopes
    assert "offline_access" in scopes


def test_y13_remove_credit_deletes_the_allocation_and_restores_both(
        fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero, credit="80.00", owed="80.00")
    write = credit_write(note, invoice, 8000)
    c = fake_xero.connector()
    written = c.write_credit(write)
    c.remove_credit(write, written.external_id)
    n, i = note_of(fake_xero, note), invoice_of(fake_xero, invoice)
    assert (n["Allocations"], n["RemainingCredit"], n["Status"]) == ([], 80.0, "AUTHORISED")
    assert (i["AmountDue"], i["AmountCredited"], i["Status"], i["CreditNotes"]) == (
        80.0, 0.0, "AUTHORISED", [])
    deletes = [r for r in fake_xero.state.requests if r.startswith("DELETE ")]
    assert deletes == [f"DELETE /api.xro/2.0/CreditNotes/{note}/Allocations/"
                       f"{written.external_id}? If-Modified-Since: None"]
    c.remove_credit(write, written.external_id)  # already gone: not an error
    assert c.find_credit(write) is None


def test_y13_a_refused_removal_says_where_to_undo_it_in_xero(fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    write = credit_write(note, invoice, 4000)
    c = fake_xero.connector()
    written = c.write_credit(write)
    fake_xero.state.lock_date = ON  # the period closed since
    with pytest.raises(base.CannotRemove, match=r"lock date.*Remove it in Xero: open the "
                                                r"credit note"):
        c.remove_credit(write, written.external_id)
    assert len(note_of(fake_xero, note)["Allocations"]) == 1


def test_y13_a_removal_whose_answer_is_lost_is_sent_again_harmlessly(
        fake_xero: FakeXero) -> None:
    note, invoice = books(fake_xero)
    write = credit_write(note, invoice, 4000)
    c = fake_xero.connector()
    written = c.write_credit(write)
    fake_xero.state.inject("timeout")  # deleted, the answer lost; the resend finds it gone
    c.remove_credit(write, written.external_id)
    assert note_of(fake_xero, note)["Allocations"] == []
    assert invoice_of(fake_xero, invoice)["AmountDue"] == 150.0


def test_y12_find_credit_never_takes_another_applications_allocation(
        fake_xero: FakeXero) -> None:
    """Two applications of one note to one invoice, same amount and day: an Allocation can't
    name its application, so the one already recorded here (``known_external_ids``) is left
    to its own application and the lost second one is reported as not made."""
    note, invoice = books(fake_xero)
    c = fake_xero.connector()
    first = c.write_credit(credit_write(note, invoice, 1000))
    second = credit_write(note, invoice, 1000)
    assert c.find_credit(second) is not None  # without knowing: the first one is taken
    known = base.CreditWrite(**{**second.__dict__,
                                "known_external_ids": frozenset({first.external_id})})
    assert c.find_credit(known) is None
