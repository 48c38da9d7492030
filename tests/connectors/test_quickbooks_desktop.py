"""qbXML requests and responses, and the Web Connector's SOAP shapes (accounting-apis.md 4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from defusedxml import ElementTree as SafeET

from creditdesk.connectors import base
from creditdesk.connectors import qbwc_soap as soap
from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.connectors.base import BadRecord, Deleted, RemoteLine, RemoteMemo

MEMO = """<CreditMemoRet><TxnID>1A2B-1741046400</TxnID>
<TimeModified>2025-03-06T16:01:00-08:00</TimeModified>
<CustomerRef><ListID>80000058-1700000000</ListID><FullName>Harbor:Job 7</FullName></CustomerRef>
<TxnDate>2025-03-04</TxnDate><RefNumber>CM-1007</RefNumber>
<TotalAmount>250.10</TotalAmount><CreditRemaining>100.05</CreditRemaining>{extra}
</CreditMemoRet>"""


def doc(inner: str, attrs: str = 'statusCode="0" statusSeverity="Info" statusMessage="OK"',
        tag: str = "CreditMemoQueryRs") -> str:
    return (f'<?xml version="1.0" ?>\n<QBXML><QBXMLMsgsRs><{tag} requestID="2" {attrs}>'
            f"{inner}</{tag}></QBXMLMsgsRs></QBXML>")


def test_requests_are_well_formed_qbxml_with_filters_and_iterators() -> None:
    first = qbd.memo_query("2025-03-01T00:00:00-08:00", page_size=100)
    assert first.startswith('<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>')
    rq = SafeET.fromstring(first).find("QBXMLMsgsRq/CreditMemoQueryRq")
    assert rq is not None and rq.get("iterator") == "Start" and rq.get("iteratorID") is None
    assert rq.findtext("MaxReturned") == "100"
    assert rq.findtext("ModifiedDateRangeFilter/FromModifiedDate") == "2025-03-01T00:00:00-08:00"
    more = SafeET.fromstring(qbd.memo_query("x", iterator_id='{a"b}')).find(
        "QBXMLMsgsRq/CreditMemoQueryRq")
    assert more is not None and (more.get("iterator"), more.get("iteratorID")) == (
        "Continue", '{a"b}')
    deleted = SafeET.fromstring(qbd.deleted_query(None)).find("QBXMLMsgsRq/TxnDeletedQueryRq")
    assert deleted is not None and deleted.findtext("TxnDelType") == "CreditMemo"
    assert deleted.find("DeletedDateRangeFilter") is None
    assert rq.findtext("IncludeLinkedTxns") == "true"  # how its credit was applied (Y14)
    invoices = SafeET.fromstring(qbd.invoice_query(None)).find("QBXMLMsgsRq/InvoiceQueryRq")
    assert invoices is not None and invoices.findtext("IncludeLinkedTxns") == "false"
    assert qbd.version_for(8, 0) == "8.0" and qbd.version_for(16, 0) == "13.0"
    assert qbd.version_for("x", None) == "13.0"


def test_y14_a_memos_linked_transactions_say_how_its_credit_was_applied() -> None:
    def link(txn: str, kind: str, amount: str) -> str:
        return (f"<LinkedTxn><TxnID>{txn}</TxnID><TxnType>{kind}</TxnType><TxnDate>2025-03-05"
                f"</TxnDate><LinkType>AMTTYPE</LinkType><Amount>{amount}</Amount></LinkedTxn>")
    extra = (link("INV-1", "Invoice", "-100.00") + link("INV-1", "Invoice", "-20.05")
             + link("RP-9", "ReceivePayment", "-30.00") + link("SO-1", "SalesOrder", "5.00"))
    (memo,) = qbd.parse_response(doc(MEMO.format(extra=extra)), "USD").records
    assert isinstance(memo, RemoteMemo) and memo.applications == (
        base.RemoteApplication("link:INV-1", "INV-1", 12005),  # one link per invoice, summed
        base.RemoteApplication("RP-9", "", 3000))  # its invoice unknown: recognised only
    bad = link("INV-1", "Invoice", "-1.005")
    (record,) = qbd.parse_response(doc(MEMO.format(extra=bad)), "USD").records
    # the memo lands; nothing is reconciled from links that can't be read
    assert isinstance(record, RemoteMemo) and record.applications is None


def test_t5_a_memos_sales_tax_is_quickbooks_own() -> None:
    taxed = "<Subtotal>233.09</Subtotal><SalesTaxTotal>17.01</SalesTaxTotal>"
    (memo,) = qbd.parse_response(doc(MEMO.format(extra=taxed)), "USD").records
    assert isinstance(memo, RemoteMemo) and (memo.tax_minor, memo.total_minor) == (1701, 25010)
    over = "<SalesTaxTotal>300.00</SalesTaxTotal>"
    (bad,) = qbd.parse_response(doc(MEMO.format(extra=over)), "USD").records
    assert isinstance(bad, BadRecord) and "sales tax" in bad.message


def test_memo_is_read_exactly_with_customer_number_and_date() -> None:
    rs = qbd.parse_response(doc(MEMO.format(extra="")), "USD")
    (memo,) = rs.records
    assert memo == RemoteMemo(external_id="1A2B-1741046400", number="CM-1007",
                              customer_external_id="80000058-1700000000",
                              customer_name="Harbor:Job 7", currency="USD", total_minor=25010,
                              remaining_minor=10005, issue_date=date(2025, 3, 4),
                              applications=())  # no LinkedTxn: its credit used nowhere
    assert rs.high_water == "2025-03-06T16:01:00-08:00" and not rs.failed


def test_currency_ref_names_and_home_currency() -> None:
    cad = MEMO.format(extra="<CurrencyRef><FullName>Canadian Dollar</FullName></CurrencyRef>")
    assert qbd.parse_response(doc(cad), "USD").records[0].currency == "CAD"
    assert qbd.parse_response(doc(MEMO.format(extra="")),
                              qbd.home_currency("CA")).records[0].currency == "CAD"
    odd = MEMO.format(extra="<CurrencyRef><FullName>Moon Rock</FullName></CurrencyRef>")
    (bad,) = qbd.parse_response(doc(odd), "USD").records
    assert isinstance(bad, BadRecord) and "Moon Rock" in bad.message


def test_voided_memo_is_zeroed_or_marked_void() -> None:
    zero = MEMO.replace("250.10", "0.00").replace("100.05", "0.00").format(extra="")
    assert qbd.parse_response(doc(zero), "USD").records[0].voided  # type: ignore[union-attr]
    marked = MEMO.format(extra="<Memo>VOID: wrong customer</Memo>")
    assert qbd.parse_response(doc(marked), "USD").records[0].voided  # type: ignore[union-attr]


@pytest.mark.parametrize("inner, needle", [
    ("<TxnID>X-1</TxnID><TotalAmount>1.234</TotalAmount><CreditRemaining>1</CreditRemaining>"
     "<CustomerRef><ListID>1</ListID></CustomerRef>", "TotalAmount"),
    ("<TxnID>X-1</TxnID><TotalAmount>10</TotalAmount><CreditRemaining>11</CreditRemaining>"
     "<CustomerRef><ListID>1</ListID></CustomerRef>", "outside"),
    ("<TxnID>X-1</TxnID><TotalAmount>10</TotalAmount><CreditRemaining>1</CreditRemaining>",
     "CustomerRef"),
    ("<TxnID>X-1</TxnID><TotalAmount>10</TotalAmount><CreditRemaining>1</CreditRemaining>"
     "<CustomerRef><ListID>1</ListID></CustomerRef><TxnDate>2025-13-40</TxnDate>", "month"),
    ("<TotalAmount>10</TotalAmount>", "without a TxnID"),
])
def test_malformed_records_become_bad_records(inner: str, needle: str) -> None:
    (bad,) = qbd.parse_response(doc(f"<CreditMemoRet>{inner}</CreditMemoRet>"), "USD").records
    assert isinstance(bad, BadRecord) and needle in bad.message


def test_deleted_iterators_and_status_codes() -> None:
    deleted = doc("<TxnDeletedRet><TxnDelType>CreditMemo</TxnDelType><TxnID>9-1</TxnID>"
                  "<TimeDeleted>2025-03-07T08:00:00-08:00</TimeDeleted></TxnDeletedRet>",
                  tag="TxnDeletedQueryRs")
    rs = qbd.parse_response(deleted, "USD")
    assert rs.kind == "TxnDeletedQueryRs" and rs.records == [Deleted("9-1")]
    paged = qbd.parse_response(doc("", 'statusCode="0" statusSeverity="Info" '
                                       'iteratorRemainingCount="7" iteratorID="{it}"'), "USD")
    assert (paged.remaining, paged.iterator_id) == (7, "{it}")
    none = qbd.parse_response(doc("", 'statusCode="1" statusSeverity="Info"'), "USD")
    assert not none.failed and none.records == []
    err = qbd.parse_response(doc(MEMO.format(extra=""), 'statusCode="3180" '
                                 'statusSeverity="Error" statusMessage="Error saving"'), "USD")
    assert err.failed and err.records == [] and "3180" in err.describe()


@pytest.mark.parametrize("text", [
    "", "<QBXML/>", "garbage", "<QBXML><QBXMLMsgsRs><CreditMemoQueryRs/></QBXMLMsgsRs></QBXML>",
    '<!DOCTYPE x [<!ENTITY a "b">]><QBXML>&a;</QBXML>', None,
])
def test_unreadable_responses_are_refused(text: object) -> None:
    with pytest.raises(qbd.MalformedResponse):
        qbd.parse_response(text, "USD")


def test_next_cursor_never_passes_the_query_start_less_a_margin() -> None:
    started = datetime(2025, 3, 6, 18, 0, tzinfo=UTC)  # 10:00 at -08:00
    assert qbd.next_from("2025-03-06T09:00:00-08:00", started, None) == \
        "2025-03-06T09:00:00-08:00"
    assert qbd.next_from("2025-03-06T09:59:00-08:00", started, None) == \
        "2025-03-06T09:50:00-08:00"
    assert qbd.next_from(None, started, "old") == "old"
    # instants, not strings: 09:40 at -08:00 is 17:40 UTC
    assert qbd.later("2025-03-06T09:40:00-08:00", "2025-03-06T17:30:00+00:00") == \
        "2025-03-06T09:40:00-08:00"


def test_soap_round_trip_and_shapes() -> None:
    call = soap.parse_call(soap.request("receiveResponseXML", ticket="t",
                                        response="<QBXML>&amp;</QBXML>", hresult="",
                                        message=""))
    assert call.method == "receiveResponseXML" and call.params["response"] == "<QBXML>&amp;</QBXML>"
    body = soap.answer("authenticate", ["t", "nvu"])
    assert "<authenticateResult><string>t</string><string>nvu</string></authenticateResult>" in body
    assert soap.read_answer(body, "authenticate") == ["t", "nvu"]
    assert soap.read_answer(soap.answer("receiveResponseXML", -1), "receiveResponseXML") == -1
    sent = soap.answer("sendRequestXML", "<QBXML/>")
    assert "&lt;QBXML/&gt;" in sent and soap.read_answer(sent, "sendRequestXML") == "<QBXML/>"
    with pytest.raises(soap.SoapError):
        soap.read_answer(soap.fault("Client", "no"), "getLastError")


# memo lines ----------------------------------------------------------------------------------
LINES = """<CreditMemoLineRet><TxnLineID>1A2C-1</TxnLineID><ItemRef><FullName>Pallet</FullName>
</ItemRef><Desc>Pallet return</Desc><Quantity>1.5</Quantity><Rate>100.00</Rate>
<Amount>150.00</Amount></CreditMemoLineRet>
<CreditMemoLineGroupRet><TxnLineID>1A2C-2</TxnLineID><ItemGroupRef><FullName>Kit</FullName>
</ItemGroupRef><CreditMemoLineRet><TxnLineID>1A2C-3</TxnLineID><ItemRef><FullName>Kit part
</FullName></ItemRef><Quantity>2</Quantity><Rate>12.34567</Rate><Amount>24.69</Amount>
</CreditMemoLineRet></CreditMemoLineGroupRet>
<CreditMemoLineRet><TxnLineID>1A2C-4</TxnLineID><Desc>Thank you</Desc></CreditMemoLineRet>"""


def test_requests_ask_for_line_items() -> None:
    rq = SafeET.fromstring(qbd.memo_query(None)).find("QBXMLMsgsRq/CreditMemoQueryRq")
    assert rq is not None and rq.findtext("IncludeLineItems") == "true"
    tags = [child.tag for child in rq]  # schema order: filters, then the Include… flags
    assert tags.index("IncludeLineItems") < tags.index("IncludeLinkedTxns")


def test_credit_memo_lines_are_read_exactly_groups_included() -> None:
    (memo,) = qbd.parse_response(doc(MEMO.format(extra=LINES)), "USD").records
    assert isinstance(memo, RemoteMemo) and memo.line_problem is None
    assert memo.lines == (
        RemoteLine("Pallet return", "1.5", 10000, 15000),
        RemoteLine("Kit part", "2", None, 2469),  # a 5-digit rate: no unit price, exact amount
        RemoteLine("Thank you", None, None, 0))  # a description-only line
    bad = MEMO.format(extra="<CreditMemoLineRet><ItemRef><FullName>X</FullName></ItemRef>"
                            "<Amount>1.001</Amount></CreditMemoLineRet>")
    (memo,) = qbd.parse_response(doc(bad), "USD").records
    assert isinstance(memo, RemoteMemo) and memo.lines is None and memo.line_problem
