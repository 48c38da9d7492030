"""Sage Intacct write-back (Y11-Y13) over real HTTP against the fake gateway: the ARPYMT that
applies a credit memo to an invoice, Intacct's refusals, lost answers and repeats with the same
control id, and removal by reversal."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from creditdesk.connectors import base, intacct_writes
from creditdesk.connectors import intacct_xml as ix
from creditdesk.connectors.base import CreditWrite, Written
from creditdesk_devtools.fakes import intacct_payments
from tests.intacct_fixtures import COMPANY, USER, FakeIntacct
from tests.intacct_fixtures import fake_intacct as fake_intacct  # the fixture


@pytest.fixture
def fake(fake_intacct: FakeIntacct) -> Iterator[FakeIntacct]:
    """The fake with a patient client: a write is sent once, so a slow answer on a busy
    machine must not pass for a timeout; the ``timeout`` fault answers later still."""
    fake_intacct.state.timeout_delay = 2.5
    with httpx.Client(timeout=2.0) as client:
        yield replace(fake_intacct, client=client)


def setup(fake: FakeIntacct, *, credit: str = "-250.00", owed: str = "500.00",
          **invoice: str) -> tuple[str, str]:
    memo = fake.state.add_adjustment(COMPANY, total=credit)
    return memo, fake.state.add_invoice(COMPANY, total=owed, **invoice)


def credit(memo: str, invoice: str, amount_minor: int = 10000, app: str = "app-1",
           customer: str = "C-0058") -> CreditWrite:
    return CreditWrite(application_id=app, request_key=f"cd-{app}", memo_external_id=memo,
                       invoice_external_id=invoice, customer_external_id=customer,
                       currency="USD", amount_minor=amount_minor, on=date(2025, 3, 10))


def dues(fake: FakeIntacct, memo: str, invoice: str) -> tuple[str, str]:
    company = fake.state.companies[COMPANY]
    return company.adjustments[memo]["TRX_TOTALDUE"], company.invoices[invoice]["TRX_TOTALDUE"]


def made(fake: FakeIntacct) -> int:
    return len(fake.state.companies[COMPANY].payments)


# writing ---------------------------------------------------------------------------------------
def test_y11_an_arpymt_applies_the_memo_credit_to_the_invoice(fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    written = c.write_credit(credit(memo, invoice, 10050))
    company = fake.state.companies[COMPANY]
    payment = company.payments[written.external_id]
    assert written.external_id == payment["RECORDNO"]
    assert (payment["CUSTOMERID"], payment["PAYMENTMETHOD"], payment["FINANCIALENTITY"],
            payment["DESCRIPTION"], payment["RECEIPTDATE"], payment["CURRENCY"]) == (
        "C-0058", "Cash", "BOA", "CreditDesk application app-1", "03/10/2025", "USD")
    assert [(d["RECORDKEY"], d["ADJUSTMENTKEY"], d["TRX_ADJUSTMENTAMOUNT"])
            for d in company.payment_details[written.external_id]] == [
        (invoice, memo, "100.5")]
    assert dues(fake, memo, invoice) == ("-149.5", "399.5")
    assert "cd-app-1" in company.control_ids  # sent with uniqueid true, the request key
    assert written.memo is not None and written.invoice is not None  # as Intacct has them now
    assert (written.memo.remaining_minor, written.invoice.balance_minor) == (14950, 39950)


def test_y11_a_failed_read_back_still_reports_the_payment(fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    c.open_session()
    fake.state.inject_after(1, *["503"] * 4)  # the create goes through, the reads do not
    written = c.write_credit(credit(memo, invoice))
    assert written == Written(written.external_id) and made(fake) == 1


def test_y11_an_undeposited_funds_account_instead_of_a_bank(fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector(account=intacct_writes.PaymentAccount(undeposited_account="1205"))
    written = c.write_credit(credit(memo, invoice))
    payment = fake.state.companies[COMPANY].payments[written.external_id]
    assert payment["UNDEPOSITEDACCOUNTNO"] == "1205" and "FINANCIALENTITY" not in payment


def test_y12_without_a_payment_account_nothing_is_sent(fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector(account=intacct_writes.PaymentAccount())
    with pytest.raises(base.WriteRefused, match="financial_entity or undeposited_account"):
        c.write_credit(credit(memo, invoice))
    assert fake.state.requests == [] and made(fake) == 0


def test_a_write_envelope_is_unique_under_the_request_key() -> None:
    body = ix.request("snd", "spw", ix.session("s1"), ix.create(ix.record("ARPYMT", {
        "CUSTOMERID": "C-1", "ARPYMTDETAILS": {"ARPYMTDETAIL": [{"RECORDKEY": "7"}]}})),
        function_controlid="cd-app-1", unique=True)
    root = ET.fromstring(body)
    assert root.findtext("control/uniqueid") == "true"
    assert root.find("operation/content/function").get("controlid") == "cd-app-1"
    assert root.findtext("operation/content/function/create/ARPYMT/ARPYMTDETAILS/"
                         "ARPYMTDETAIL/RECORDKEY") == "7"


def test_payment_account_comes_from_the_stored_credentials() -> None:
    assert intacct_writes.PaymentAccount.from_tokens({"financial_entity": " BOA "}).header() == {
        "FINANCIALENTITY": "BOA"}
    assert intacct_writes.PaymentAccount.from_tokens({}).header() == {}


# refusals ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("change,words", [
    ({"amount_minor": 50001}, r"more than the amount due on invoice INV-\d+ \(500\)"),
    ({"amount_minor": 25001}, r"more than the credit available on credit memo ADJ-\d+ \(250\)"),
    ({"customer": "C-0099"}, r"belongs to customer C-0058, not to customer C-0099"),
    ({"invoice": "99999"}, r"Invalid RECORDKEY '99999'"),
])
def test_y12_a_refusal_is_intacct_s_words_and_makes_nothing(
        fake: FakeIntacct, change: dict[str, object], words: str) -> None:
    memo, invoice = setup(fake)
    args: dict[str, object] = {"memo": memo, "invoice": invoice, **change}
    with pytest.raises(base.WriteRefused, match=r"BL01001973: .*" + words):
        fake.connector().write_credit(credit(**args))  # type: ignore[arg-type]
    assert made(fake) == 0
    assert dues(fake, memo, invoice) == ("-250", "500")


def test_y12_a_closed_period_is_refused_and_the_same_key_works_once_reopened(
        fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    company = fake.state.companies[COMPANY]
    company.closed_through = date(2025, 3, 31)
    c = fake.connector()
    with pytest.raises(base.WriteRefused, match="The period for 03/10/2025 is closed"):
        c.write_credit(credit(memo, invoice))
    company.closed_through = None
    assert made(fake) == 0
    assert c.write_credit(credit(memo, invoice)).external_id in company.payments  # retried


def test_y12_a_missing_permission_is_a_refusal_not_a_reconnection(
        fake: FakeIntacct, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_permission(*_: object) -> str:
        raise intacct_payments.Refusal("User api_user does not have permission to create "
                                       "AR payments")
    monkeypatch.setattr("creditdesk_devtools.fakes.intacct.create_payment", no_permission)
    memo, invoice = setup(fake)
    with pytest.raises(base.WriteRefused, match="does not have permission"):
        fake.connector().write_credit(credit(memo, invoice))


# lost answers, repeats and faults -------------------------------------------------------------
@pytest.mark.reliability
def test_y12_a_lost_answer_is_found_and_a_repeat_makes_no_second(
        fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    c.open_session()
    write = credit(memo, invoice)
    assert c.find_credit(write) is None
    fake.state.inject("timeout")  # made in Intacct, the answer never arrives
    with pytest.raises(base.Transient, match="whether it made the change is unknown"):
        c.write_credit(write)
    assert fake.sleeps == []  # a timeout is never resent blindly
    found = c.find_credit(write)
    assert found is not None and made(fake) == 1
    assert c.write_credit(write) == found  # Intacct refuses the control id: the first one
    assert made(fake) == 1 and dues(fake, memo, invoice) == ("-150", "400")
    assert fake.state.requests.count(f"create ARPYMT {found.external_id}") == 1
    other = credit(memo, invoice, app="app-2")
    assert c.find_credit(other) is None  # another application's payment is not this one


@pytest.mark.parametrize("fault", ["503", "429", "throttle", "expired_session"])
def test_y12_faults_before_intacct_ran_the_write_are_retried_once(
        fake: FakeIntacct, fault: str) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    c.open_session()
    fake.state.inject(fault)
    written = c.write_credit(credit(memo, invoice))
    assert made(fake) == 1 and written.external_id in (
        fake.state.companies[COMPANY].payments)


@pytest.mark.parametrize("faults,words", [
    (["503"] * 4, "HTTP 503; gave up after 4 attempts"),  # a 5xx outlasting the retries
    (["garbage"], "answered the write with .* not known yet"),  # not Intacct XML: unknown
])
def test_y12_faults_that_leave_nothing_made_are_transient(
        fake: FakeIntacct, faults: list[str], words: str) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    c.open_session()
    fake.state.inject(*faults)
    with pytest.raises(base.Transient, match=words):
        c.write_credit(credit(memo, invoice))
    assert made(fake) == 0 and c.find_credit(credit(memo, invoice)) is None


def test_y12_revoked_credentials_need_reconnection(fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    c.open_session()
    fake.state.companies[COMPANY].users[USER] = "rotated"
    fake.state.expire_sessions()
    with pytest.raises(base.NeedsReconnection, match="Sign-in information is incorrect"):
        c.write_credit(credit(memo, invoice))
    assert made(fake) == 0


# removal --------------------------------------------------------------------------------------
def test_y13_remove_reverses_the_payment_and_restores_both_balances(
        fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    write = credit(memo, invoice)
    written = c.write_credit(write)
    c.remove_credit(write, written.external_id)
    payment = fake.state.companies[COMPANY].payments[written.external_id]
    assert payment["STATE"] == "Reversed"
    assert dues(fake, memo, invoice) == ("-250", "500")
    assert c.find_credit(write) is None  # a reversed payment is no application
    c.remove_credit(write, written.external_id)  # again: already reversed, fine
    assert dues(fake, memo, invoice) == ("-250", "500")
    again = credit(memo, invoice, app="app-2")  # a new application of the same credit
    assert c.write_credit(again).external_id != written.external_id


def test_y13_removing_a_payment_that_is_gone_is_not_an_error(fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    fake.connector().remove_credit(credit(memo, invoice), "99999")
    assert "reverse_arpayment" in fake.state.requests


@pytest.mark.reliability
def test_y13_a_lost_reversal_answer_then_a_retry_reverses_once(fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    write = credit(memo, invoice)
    written = c.write_credit(write)
    fake.state.inject("timeout")
    with pytest.raises(base.Transient):
        c.remove_credit(write, written.external_id)
    c.remove_credit(write, written.external_id)  # the same control id: already done
    assert dues(fake, memo, invoice) == ("-250", "500")  # restored once, not twice


def test_y13_a_reversal_intacct_refuses_says_where_to_undo_it(fake: FakeIntacct) -> None:
    memo, invoice = setup(fake)
    c = fake.connector()
    write = credit(memo, invoice)
    written = c.write_credit(write)
    fake.state.companies[COMPANY].closed_through = (
        fake.state.now().date() + timedelta(days=1))
    no = written.external_id
    with pytest.raises(base.CannotRemove, match=(
            rf"refused to reverse AR payment {no} \(BL01001973: The period for .* is closed.*"
            rf"reverse payment {no} in Sage Intacct: Accounts Receivable \u203a Payments")):
        c.remove_credit(write, no)
    assert dues(fake, memo, invoice) == ("-150", "400")


def test_amounts_are_sent_in_the_currency_s_digits(fake: FakeIntacct) -> None:
    st = fake.state
    memo = st.add_adjustment(COMPANY, total="-1000", currency="JPY")
    invoice = st.add_invoice(COMPANY, total="5000", currency="JPY")
    write = CreditWrite("app-jpy", "cd-app-jpy", memo, invoice, "C-0058", "JPY", 700,
                        date(2025, 3, 10))
    written = fake.connector().write_credit(write)
    detail = st.companies[COMPANY].payment_details[written.external_id][0]
    assert Decimal(detail["TRX_ADJUSTMENTAMOUNT"]) == 700
    assert dues(fake, memo, invoice) == ("-300", "4300")
