"""Y11-Y13: applications of credit written to QuickBooks Online as $0 Payments, over real
HTTP against the fake."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_online_writes as writes
from creditdesk_devtools.fakes import qbo_payments
from tests.qbo_fixtures import REALM, FakeQbo


def setup(fake: FakeQbo) -> tuple[str, str]:
    """A memo with $250 left and an invoice owing $440, both of customer 58."""
    memo = fake.state.add_memo(REALM, total="250.00")
    invoice = fake.state.add_invoice(REALM, total="540.00", balance="440.00", tax="40.00")
    return memo, invoice


def credit(memo: str, invoice: str, amount: int = 10000, app: str = "app_1",
           key: str = "key-app_1-1", customer: str = "58") -> base.CreditWrite:
    return base.CreditWrite(application_id=app, request_key=key, memo_external_id=memo,
                            invoice_external_id=invoice, customer_external_id=customer,
                            currency="USD", amount_minor=amount, on=date(2026, 12, 6))


def balances(fake: FakeQbo, memo: str, invoice: str) -> tuple[Decimal, Decimal]:
    company = fake.state.companies[REALM]
    return (Decimal(str(company.memos[memo]["RemainingCredit"])),
            Decimal(str(company.invoices[invoice]["Balance"])))


def payments(fake: FakeQbo) -> dict[str, dict]:
    return fake.state.companies[REALM].payments


def test_a_write_makes_a_zero_payment_linking_the_invoice_and_the_memo(
        fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    c = fake_qbo.connector()
    fake_qbo.state.requests.clear()
    written = c.write_credit(credit(memo, invoice))
    (payment,) = payments(fake_qbo).values()
    assert written.external_id == payment["Id"]
    assert payment["TotalAmt"] == 0 and payment["TxnDate"] == "2026-12-06"
    assert payment["CustomerRef"]["value"] == "58"
    assert payment["PrivateNote"] == "CreditDesk application app_1"
    assert [(line["Amount"], line["LinkedTxn"]) for line in payment["Line"]] == [
        (100.0, [{"TxnId": invoice, "TxnType": "Invoice"}]),
        (100.0, [{"TxnId": memo, "TxnType": "CreditMemo"}])]
    assert balances(fake_qbo, memo, invoice) == (Decimal("150"), Decimal("340"))
    # the balances as QuickBooks reports them afterwards come back with it
    assert written.memo is not None and written.memo.remaining_minor == 15000
    assert written.invoice is not None and written.invoice.balance_minor == 34000
    assert fake_qbo.state.requests[0].startswith(
        f"POST /v3/company/{REALM}/payment?requestid=key-app_1-1&minorversion=")


def test_the_payment_body_carries_exact_decimal_amounts() -> None:
    body = writes.payment_body(credit("150", "130", amount=123456789012))
    assert b'"Amount": 1234567890.12' in body  # written from the integer, never a float
    parsed = json.loads(body, parse_float=Decimal)
    assert [line["Amount"] for line in parsed["Line"]] == [Decimal("1234567890.12")] * 2
    with pytest.raises(base.WriteRefused, match="positive"):
        writes.payment_body(credit("150", "130", amount=0))
    with pytest.raises(base.WriteRefused, match="not a QuickBooks Online id"):
        writes.payment_body(credit("150", "1' OR '1'='1"))


def test_a_request_key_longer_than_quickbooks_takes_is_digested_the_same_way_each_time(
        ) -> None:
    assert writes.request_id("short-key") == "short-key"
    long = "k" * 80
    assert len(writes.request_id(long)) <= 50
    assert writes.request_id(long) == writes.request_id(long) != writes.request_id(long + "x")


def test_an_amount_over_the_memos_credit_is_refused_in_quickbooks_words(
        fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    with pytest.raises(base.WriteRefused, match="more than its remaining credit") as refused:
        fake_qbo.connector().write_credit(credit(memo, invoice, amount=30000))  # $300 > $250
    assert "Business Validation Error" in str(refused.value)
    assert payments(fake_qbo) == {}
    assert balances(fake_qbo, memo, invoice) == (Decimal("250"), Decimal("440"))


def test_refusals_over_the_invoice_balance_a_closed_period_permission_and_customer(
        fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    memo = st.add_memo(REALM, total="900.00")
    invoice = st.add_invoice(REALM, total="540.00", balance="40.00")
    other = st.add_invoice(REALM, total="50.00", customer_id="77", customer_name="Other")
    c = fake_qbo.connector()
    with pytest.raises(base.WriteRefused, match=r"more than its open balance \(40"):
        c.write_credit(credit(memo, invoice, amount=5000))
    with pytest.raises(base.WriteRefused, match="belongs to another customer"):
        c.write_credit(credit(memo, other, amount=100, key="k2"))
    st.companies[REALM].closed_through = "2026-12-31"
    with pytest.raises(base.WriteRefused, match="The account period has closed"):
        c.write_credit(credit(memo, invoice, amount=100, key="k3"))
    st.companies[REALM].closed_through = None
    st.companies[REALM].refusal = ("Permission Denied Error", "Permission Denied Error : "
                                   "You need to be an admin to do this.", "5020")
    with pytest.raises(base.WriteRefused, match="You need to be an admin"):
        c.write_credit(credit(memo, invoice, amount=100, key="k4"))
    assert payments(fake_qbo) == {}


def test_a_lost_answer_is_transient_then_find_credit_finds_the_one_payment_and_a_repeat_makes_none(
        fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    c = fake_qbo.connector()
    write = credit(memo, invoice)
    fake_qbo.state.inject("timeout")  # QuickBooks makes the Payment; its answer is lost
    with pytest.raises(base.Transient, match="unknown"):
        c.write_credit(write)
    assert len(fake_qbo.sleeps) == 0  # a timed-out write is never resent
    (made,) = payments(fake_qbo)
    assert c.find_credit(write) == base.Written(made)
    # the same requestid again: QuickBooks answers with the first answer, nothing new
    again = c.write_credit(write)
    assert again.external_id == made and list(payments(fake_qbo)) == [made]
    assert balances(fake_qbo, memo, invoice) == (Decimal("150"), Decimal("340"))


def test_find_credit_knows_only_its_own_application_and_reads_every_page(
        fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    memo = st.add_memo(REALM, total="900.00")
    invoice = st.add_invoice(REALM, total="900.00")
    c = fake_qbo.connector(page_size=2)
    assert c.find_credit(credit(memo, invoice)) is None
    mine = c.write_credit(credit(memo, invoice, app="app_1", key="a1")).external_id
    for n in range(4):  # newer Payments of the customer push it onto the third page
        c.write_credit(credit(memo, invoice, amount=100, app=f"app_1{n}", key=f"b{n}"))
    st.requests.clear()
    assert c.find_credit(credit(memo, invoice, app="app_1")) == base.Written(mine)
    assert sum("FROM+Payment+WHERE+CustomerRef" in r for r in st.requests) == 3
    assert c.find_credit(credit(memo, invoice, app="app_9")) is None
    assert c.find_credit(credit(memo, invoice, app="app_1", customer="77")) is None


def test_throttling_is_sent_again_with_the_same_requestid(fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    c = fake_qbo.connector()
    fake_qbo.state.inject("429", "503")
    c.write_credit(credit(memo, invoice))
    assert len(payments(fake_qbo)) == 1 and len(fake_qbo.sleeps) == 2
    posts = [r for r in fake_qbo.state.requests if r.startswith("POST")]
    assert len(posts) == 3 and all("requestid=key-app_1-1" in p for p in posts)


def test_5xx_that_never_ends_is_transient_and_nothing_is_made(fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    fake_qbo.state.inject(*["500"] * 4)
    with pytest.raises(base.Transient, match="HTTP 500"):
        fake_qbo.connector().write_credit(credit(memo, invoice))
    assert payments(fake_qbo) == {}


def test_an_expired_token_is_refreshed_and_a_revoked_one_needs_reconnection(
        fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    c = fake_qbo.connector()
    fake_qbo.state.inject("expired_token")
    c.write_credit(credit(memo, invoice))
    assert len(c.saved) == 1 and len(payments(fake_qbo)) == 1
    fake_qbo.state.inject("revoked")
    with pytest.raises(base.NeedsReconnection, match="reconnect"):
        c.write_credit(credit(memo, invoice, app="app_2", key="k2"))
    assert len(payments(fake_qbo)) == 1


def test_remove_deletes_the_payment_and_the_balances_come_back(fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    c = fake_qbo.connector()
    write = credit(memo, invoice)
    made = c.write_credit(write).external_id
    fake_qbo.state.requests.clear()
    c.remove_credit(write, made)
    assert payments(fake_qbo) == {}
    assert balances(fake_qbo, memo, invoice) == (Decimal("250"), Decimal("440"))
    assert fake_qbo.state.companies[REALM].invoices[invoice]["LinkedTxn"] == []
    assert fake_qbo.state.requests == [
        f"GET /v3/company/{REALM}/payment/{made}?minorversion=75",
        f"POST /v3/company/{REALM}/payment?operation=delete&minorversion=75"]
    c.remove_credit(write, made)  # already gone: fine
    c.remove_credit(write, "999")  # never there: fine


def test_remove_of_a_payment_deleted_in_quickbooks_is_fine(fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    c = fake_qbo.connector()
    write = credit(memo, invoice)
    made = c.write_credit(write).external_id
    qbo_payments.remove(fake_qbo.state, REALM, made)
    c.remove_credit(write, made)
    assert balances(fake_qbo, memo, invoice) == (Decimal("250"), Decimal("440"))


def test_remove_after_an_edit_in_between_reads_the_sync_token_again(fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    c = fake_qbo.connector()
    write = credit(memo, invoice)
    made = c.write_credit(write).external_id
    st = fake_qbo.state
    edited: list[str] = []

    def edit_after_the_read(response: httpx.Response) -> None:
        if f"/payment/{made}" in str(response.request.url) and not edited:
            st.touch(REALM, st.companies[REALM].payments[made])  # someone edits it
            edited.append(made)

    fake_qbo.client.event_hooks["response"] = [edit_after_the_read]
    try:
        c.remove_credit(write, made)
    finally:
        fake_qbo.client.event_hooks["response"] = []
    assert edited and payments(fake_qbo) == {}


def test_a_refused_removal_says_where_to_undo_it_in_quickbooks(fake_qbo: FakeQbo) -> None:
    memo, invoice = setup(fake_qbo)
    c = fake_qbo.connector()
    write = credit(memo, invoice)
    made = c.write_credit(write).external_id
    fake_qbo.state.companies[REALM].closed_through = "2026-12-06"
    with pytest.raises(base.CannotRemove) as refused:
        c.remove_credit(write, made)
    message = str(refused.value)
    assert "The account period has closed." in message
    assert "QuickBooks Online: Sales \u203a All sales" in message
    assert f"payment {made} of Harbor Supply Co dated 2026-12-06" in message
    assert made in payments(fake_qbo)  # nothing removed


def test_the_fake_replays_a_requestid_and_checks_the_payment_it_is_sent(
        fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    memo, invoice = setup(fake_qbo)
    body = writes.payment_body(credit(memo, invoice))
    first = qbo_payments.create(st, REALM, body, "r1")
    assert qbo_payments.create(st, REALM, body, "r1") == first  # byte for byte
    assert len(payments(fake_qbo)) == 1
    unbalanced = json.loads(body)
    unbalanced["TotalAmt"] = 5
    status, answer = qbo_payments.create(st, REALM, json.dumps(unbalanced).encode(), "r2")
    assert status == 400 and b"Business Validation Error" in answer
    missing = json.loads(body)
    missing["Line"][0]["LinkedTxn"][0]["TxnId"] = "4040"
    status, answer = qbo_payments.create(st, REALM, json.dumps(missing).encode(), "r3")
    assert status == 400 and b"Invalid Reference Id" in answer
    assert len(payments(fake_qbo)) == 1
