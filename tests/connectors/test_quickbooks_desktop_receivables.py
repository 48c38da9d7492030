"""QuickBooks Desktop invoices (Y9) and the write-back's qbXML (Y11-Y13): requests in the
schema's element order, and answers read (docs/research/issue13-intacct-qbd.md §3, §4)."""

from __future__ import annotations

from datetime import date

import pytest
from defusedxml import ElementTree as SafeET

from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.connectors import quickbooks_desktop_credit as credit
from creditdesk.connectors.base import (
    BadRecord,
    CreditWrite,
    Deleted,
    DeletedInvoice,
    RemoteInvoice,
    RemoteLine,
)

INVOICE = """<InvoiceRet><TxnID>1A40-1741219200</TxnID>
<TimeModified>2025-03-06T16:01:00-08:00</TimeModified>
<CustomerRef><ListID>80000058-1700000000</ListID><FullName>Harbor Supply Co</FullName></CustomerRef>
<TxnDate>2025-03-04</TxnDate><RefNumber>INV-2001</RefNumber><IsPending>false</IsPending>
<DueDate>2025-04-03</DueDate><Subtotal>200.00</Subtotal><SalesTaxPercentage>7.25</SalesTaxPercentage>
<SalesTaxTotal>14.50</SalesTaxTotal><AppliedAmount>-100.00</AppliedAmount>
<BalanceRemaining>114.50</BalanceRemaining><Memo>{memo}</Memo><IsPaid>false</IsPaid>{extra}
<InvoiceLineRet><TxnLineID>1</TxnLineID><ItemRef><FullName>Router</FullName></ItemRef>
<Desc>Router rental</Desc><Quantity>2</Quantity><Rate>100.00</Rate><Amount>200.00</Amount>
</InvoiceLineRet></InvoiceRet>"""


def doc(inner: str, tag: str = "InvoiceQueryRs",
        attrs: str = 'statusCode="0" statusSeverity="Info" statusMessage="Status OK"') -> str:
    return (f'<?xml version="1.0" ?>\n<QBXML><QBXMLMsgsRs><{tag} requestID="3" {attrs}>'
            f"{inner}</{tag}></QBXMLMsgsRs></QBXML>")


def test_y9_invoice_query_pages_modified_invoices_with_lines_and_no_paid_filter() -> None:
    rq = SafeET.fromstring(qbd.invoice_query("2025-03-01T00:00:00-08:00", page_size=50)).find(
        "QBXMLMsgsRq/InvoiceQueryRq")
    assert rq is not None and rq.get("iterator") == "Start"
    assert [c.tag for c in rq] == ["MaxReturned", "ModifiedDateRangeFilter", "IncludeLineItems",
                                   "IncludeLinkedTxns"]  # research §3.1 order; no PaidStatus
    assert rq.findtext("IncludeLineItems") == "true"
    more = SafeET.fromstring(qbd.invoice_query(None, iterator_id="{it}")).find(
        "QBXMLMsgsRq/InvoiceQueryRq")
    assert more is not None and (more.get("iterator"), more.get("iteratorID")) == (
        "Continue", "{it}") and more.find("ModifiedDateRangeFilter") is None
    deleted = SafeET.fromstring(qbd.deleted_query("x")).find("QBXMLMsgsRq/TxnDeletedQueryRq")
    assert deleted is not None
    assert [t.text for t in deleted.findall("TxnDelType")] == ["CreditMemo", "Invoice"]
    by_id = SafeET.fromstring(qbd.by_ids_query("InvoiceQueryRq", ["A-1", "B-2"])).find(
        "QBXMLMsgsRq/InvoiceQueryRq")
    assert by_id is not None and [t.text for t in by_id.findall("TxnID")] == ["A-1", "B-2"]
    assert by_id.get("iterator") is None and by_id.find("MaxReturned") is None


def test_y9_invoice_ret_is_read_exactly_total_is_subtotal_plus_tax() -> None:
    rs = qbd.parse_response(doc(INVOICE.format(memo="Thanks", extra="")), "USD")
    assert rs.kind == "InvoiceQueryRs" and rs.high_water == "2025-03-06T16:01:00-08:00"
    (invoice,) = rs.records
    assert invoice == RemoteInvoice(
        external_id="1A40-1741219200", number="INV-2001",
        customer_external_id="80000058-1700000000", customer_name="Harbor Supply Co",
        currency="USD", total_minor=21450, balance_minor=11450, issue_date=date(2025, 3, 4),
        due_date=date(2025, 4, 3), tax_minor=1450,
        lines=(RemoteLine("Router rental", "2", 10000, 20000),))


def test_y9_voided_pending_deleted_and_currency() -> None:
    void = qbd.parse_response(doc(INVOICE.format(memo="VOID: wrong", extra="")), "USD")
    assert void.records[0].voided  # type: ignore[union-attr]
    cad = INVOICE.format(memo="", extra="<CurrencyRef><FullName>Canadian Dollar</FullName>"
                                        "</CurrencyRef>")
    assert qbd.parse_response(doc(cad), "USD").records[0].currency == "CAD"  # type: ignore[union-attr]
    pending = INVOICE.format(memo="", extra="").replace("<IsPending>false", "<IsPending>true")
    rs = qbd.parse_response(doc(pending), "USD")
    assert rs.records == [] and rs.high_water  # not owed yet: not reported, cursor still moves
    gone = doc("<TxnDeletedRet><TxnDelType>Invoice</TxnDelType><TxnID>1A40-1</TxnID>"
               "<TimeDeleted>2025-03-07T08:00:00-08:00</TimeDeleted></TxnDeletedRet>"
               "<TxnDeletedRet><TxnDelType>CreditMemo</TxnDelType><TxnID>1A2B-1</TxnID>"
               "<TimeDeleted>2025-03-07T09:00:00-08:00</TimeDeleted></TxnDeletedRet>",
               tag="TxnDeletedQueryRs")
    assert qbd.parse_response(gone, "USD").records == [DeletedInvoice("1A40-1"),
                                                       Deleted("1A2B-1")]


@pytest.mark.parametrize("change, needle", [
    (("<BalanceRemaining>114.50", "<BalanceRemaining>300.00"), "outside"),
    (("<Subtotal>200.00</Subtotal>", ""), "Subtotal"),
    (("<SalesTaxTotal>14.50", "<SalesTaxTotal>1.005"), "SalesTaxTotal"),
    (("<ListID>80000058-1700000000</ListID>", ""), "CustomerRef"),
    (("<DueDate>2025-04-03", "<DueDate>2025-04-31"), "day"),
    (("<TxnID>1A40-1741219200</TxnID>", ""), "without a TxnID"),
])
def test_y9_malformed_invoices_become_bad_records(change: tuple[str, str], needle: str) -> None:
    text = INVOICE.format(memo="", extra="").replace(*change)
    (bad,) = qbd.parse_response(doc(text), "USD").records
    assert isinstance(bad, BadRecord) and needle in bad.message


def test_y9_invoice_lines_problem_keeps_the_invoice() -> None:
    text = INVOICE.format(memo="", extra="").replace("<Amount>200.00", "<Amount>2.001")
    (invoice,) = qbd.parse_response(doc(text), "USD").records
    assert isinstance(invoice, RemoteInvoice) and invoice.lines is None
    assert invoice.line_problem and "INV-2001" in invoice.line_problem


WRITE = CreditWrite(application_id="app_01jd3abc", request_key="wb-key-1",
                    memo_external_id="1A2B-1741046400", invoice_external_id="1A40-1741219200",
                    customer_external_id="80000058-1700000000", currency="USD",
                    amount_minor=10000, on=date(2025, 3, 10))


def test_y11_receive_payment_add_in_the_schema_order() -> None:
    root = SafeET.fromstring(credit.apply_request(WRITE))
    rq = root.find("QBXMLMsgsRq/ReceivePaymentAddRq")
    assert rq is not None and rq.get("requestID") == "wb-key-1"
    add = rq.find("ReceivePaymentAdd")
    assert add is not None
    # research §4.1 (qbXML 7.0 ops l.5421-5503): CustomerRef, TxnDate, RefNumber,
    # TotalAmount, Memo, then AppliedToTxnAdd{TxnID, PaymentAmount, SetCredit}
    assert [c.tag for c in add] == ["CustomerRef", "TxnDate", "RefNumber", "TotalAmount",
                                    "Memo", "AppliedToTxnAdd"]
    assert add.findtext("CustomerRef/ListID") == "80000058-1700000000"
    assert add.findtext("TxnDate") == "2025-03-10" and add.findtext("TotalAmount") == "0.00"
    ref = add.findtext("RefNumber") or ""
    assert ref == credit.ref_number("app_01jd3abc") and ref.startswith("CD") and len(ref) == 20
    assert add.findtext("Memo") == "CreditDesk application app_01jd3abc"
    applied = add.find("AppliedToTxnAdd")
    assert applied is not None
    assert [c.tag for c in applied] == ["TxnID", "PaymentAmount", "SetCredit"]
    assert applied.findtext("TxnID") == "1A40-1741219200"
    assert applied.findtext("PaymentAmount") == "0.00"
    set_credit = applied.find("SetCredit")
    assert set_credit is not None and [c.tag for c in set_credit] == ["CreditTxnID",
                                                                     "AppliedAmount"]
    assert set_credit.findtext("CreditTxnID") == "1A2B-1741046400"
    assert set_credit.findtext("AppliedAmount") == "100.00"


def test_y12_find_and_y13_remove_requests() -> None:
    find = SafeET.fromstring(credit.find_request(WRITE)).find(
        "QBXMLMsgsRq/ReceivePaymentQueryRq")
    assert find is not None and find.findtext("RefNumber") == credit.ref_number(
        "app_01jd3abc")
    remove = SafeET.fromstring(credit.remove_request("1A50-1", "wb-key-1")).find(
        "QBXMLMsgsRq/TxnDelRq")
    assert remove is not None and [c.tag for c in remove] == ["TxnDelType", "TxnID"]
    assert (remove.findtext("TxnDelType"), remove.findtext("TxnID")) == ("ReceivePayment",
                                                                         "1A50-1")


def _payment(ref: str, memo: str) -> str:
    return (f"<ReceivePaymentRet><TxnID>1A50-1</TxnID><RefNumber>{ref}</RefNumber>"
            f"<TotalAmount>0.00</TotalAmount><Memo>{memo}</Memo></ReceivePaymentRet>")


def test_write_answers_are_read() -> None:
    ref, memo = credit.ref_number("app_01jd3abc"), credit.payment_memo("app_01jd3abc")
    made = credit.parse_answer(doc(_payment(ref, memo), "ReceivePaymentAddRs"))
    assert made.ok and made.payments == [("1A50-1", ref, memo)]
    thin = credit.parse_answer(doc("", "ReceivePaymentAddRs"))  # research §4.2: no Ret
    assert thin.ok and thin.payments == []
    refused = credit.parse_answer(doc("", "ReceivePaymentAddRs", 'statusCode="3120" '
                                      'statusSeverity="Error" statusMessage="Object &quot;X&quot;'
                                      ' specified in the request cannot be found."'))
    assert not refused.ok and refused.words() == ('Object "X" specified in the request cannot '
                                                  'be found.')
    found = credit.parse_answer(doc(_payment(ref, memo), "ReceivePaymentQueryRs"))
    assert found.made_for("app_01jd3abc") == "1A50-1"
    other = credit.parse_answer(doc(_payment(ref, "someone else's"), "ReceivePaymentQueryRs"))
    assert other.made_for("app_01jd3abc") is None  # the same RefNumber typed by a person
    none = credit.parse_answer(doc("", "ReceivePaymentQueryRs", 'statusCode="1" '
                                   'statusSeverity="Info" statusMessage="no match"'))
    assert none.ok and none.made_for("app_01jd3abc") is None
    deleted = credit.parse_answer(doc("<TxnDelType>ReceivePayment</TxnDelType><TxnID>1A50-1"
                                      "</TxnID>", "TxnDelRs"))
    assert deleted.ok and deleted.kind == "TxnDelRs"
    with pytest.raises(qbd.MalformedResponse):
        credit.parse_answer(doc("", "CreditMemoQueryRs"))
