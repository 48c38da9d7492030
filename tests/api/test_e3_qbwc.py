"""E3 for ``/qbwc``: whatever is posted — malformed XML, entity bombs, external entities,
100,000-deep nesting, unknown methods, wrong types, huge values, another content type, and
hostile qbXML inside a real conversation — the answer is never a 5xx: a SOAP ``Client``
fault for what is not a Web Connector call, else the method's own answer (``nvu``, ``""``,
a negative percentage, a ``getLastError`` text), as the Web Connector expects."""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx
import pytest
from defusedxml import ElementTree as SafeET
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditdesk.connectors import qbwc_soap as soap
from creditdesk.db.engine import Database
from creditdesk.services.books import qbwc_setup
from creditdesk.services.common.context import Actor
from creditdesk_devtools.fakes.qbwc_company import FakeCompany
from tests.qbwc_fixtures import Landed

FUZZ = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
ENV = f'<soap:Envelope xmlns:soap="{soap.SOAP_NS}"><soap:Body>'
END = "</soap:Body></soap:Envelope>"
BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
                  for i in range(9)) + "]>")
DEEP = "<a>" * 100_000 + "</a>" * 100_000
HUGE = "9" * 5000


def call(method: str, inner: str = "", ns: str = soap.INTUIT_NS) -> bytes:
    return f'{ENV}<{method} xmlns="{ns}">{inner}</{method}>{END}'.encode()


NOT_CALLS = [
    b"", b"not xml", b"<a/>", b"\xff\xfe\x00garbage", (BOMB + "<x>&lol8;</x>").encode(),
    (BOMB + ENV + "<serverVersion>&lol8;</serverVersion>" + END).encode(),
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    + call("authenticate", "<strUserName>&e;</strUserName>"),
    (ENV + DEEP + END).encode(), (DEEP).encode(), call("dropTables"), call("__class__"),
    call("authenticate", ns="http://example.com/"),
    b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
    b'<serverVersion xmlns="http://developer.intuit.com/"/></env:Body></env:Envelope>',
    f"{ENV}{END}".encode(), f'<soap:Envelope xmlns:soap="{soap.SOAP_NS}"/>'.encode(),
    call("authenticate", "<strUserName>a</strUserName>").replace(b"</soap:Body>", b""),
    "<?xml version='1.0' encoding='utf-16'?><a/>".encode("utf-16"),
]
ODD_PARAMS = ["", HUGE, "-5", "1e3", "NaN", "\u00b2", "\u0663", "x" * 1_000_000,
              "<![CDATA[<a>]]>", "&amp;&lt;", DEEP, "<strVersion>nested</strVersion>"]


def post(client: TestClient, body: bytes, content_type: str = soap.CONTENT_TYPE
         ) -> httpx.Response:
    r = client.post("/qbwc", content=body, headers={"content-type": content_type})
    assert r.status_code < 500, (body[:200], r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/xml"), (body[:200], r.status_code)
    SafeET.fromstring(r.content)  # always a well-formed SOAP envelope
    assert b"soap:Server" not in r.content and b"Traceback" not in r.content
    return r


def client_fault(r: httpx.Response) -> bool:
    return r.status_code in (400, 413, 415) and b"<faultcode>soap:Client</faultcode>" in r.content


@pytest.mark.parametrize("body", NOT_CALLS, ids=lambda b: repr(b[:30]))
def test_e3_what_is_not_a_web_connector_call_is_a_client_fault(client: TestClient,
                                                              body: bytes) -> None:
    assert client_fault(post(client, body))


@pytest.mark.parametrize("content_type", ["application/json", "text/plain",
                                          "application/x-www-form-urlencoded"])
def test_e3_a_call_of_another_content_type_is_a_415_client_fault(client: TestClient,
                                                                content_type: str) -> None:
    r = post(client, soap.request("serverVersion", strVersion="").encode(), content_type)
    assert r.status_code == 415 and client_fault(r) and b"text/xml" in r.content


def test_e3_odd_parameters_get_each_methods_own_answer(
        client: TestClient, db: Database, actor: Actor) -> None:
    qbwc_setup.create(db, actor=actor)
    for method, (names, kind) in soap.METHODS.items():
        for value in ODD_PARAMS:
            inner = "".join(f"<{n}>{value if value.startswith('<') else escape(value)}</{n}>"
                            for n in names)
            r = post(client, call(method, inner))
            if client_fault(r):  # a value that is not XML text (the nested ones)
                continue
            answer = soap.read_answer(r.content, method)
            if method == "authenticate":
                assert answer == ["", "nvu"]
            elif kind == "int":
                assert answer == -1


def _session(client: TestClient, created: qbwc_setup.Created, company: FakeCompany
             ) -> tuple[str, str]:
    """A new conversation up to its first request: (ticket, that qbXML request)."""
    r = post(client, soap.request("authenticate", strUserName=created.username,
                                  strPassword=created.password).encode())
    ticket, _ = soap.read_answer(r.content, "authenticate")
    r = post(client, soap.request("sendRequestXML", ticket=ticket, strHCPResponse="",
                                  strCompanyFileName=company.path, qbXMLCountry="US",
                                  qbXMLMajorVers=13, qbXMLMinorVers=0).encode())
    return ticket, str(soap.read_answer(r.content, "sendRequestXML"))


@pytest.mark.parametrize(("major", "minor", "spoken"), [
    ("-5", "0", "13.0"), ("12", "-1", "13.0"), (HUGE, "0", "13.0"), ("\u0663", "0", "13.0"),
    ("1e3", "0", "13.0"), ("abc", "", "13.0"), ("8", "0", "8.0"), ("99", "99", "13.0")])
def test_e3_odd_qbxml_versions_are_answered_in_one_quickbooks_speaks(
        client: TestClient, db: Database, actor: Actor, major: str, minor: str,
        spoken: str) -> None:
    created = qbwc_setup.create(db, actor=actor)
    r = post(client, soap.request("authenticate", strUserName=created.username,
                                  strPassword=created.password).encode())
    ticket, _ = soap.read_answer(r.content, "authenticate")
    r = post(client, soap.request("sendRequestXML", ticket=ticket, strHCPResponse="",
                                  strCompanyFileName="", qbXMLCountry="US",
                                  qbXMLMajorVers=major, qbXMLMinorVers=minor).encode())
    assert f'<?qbxml version="{spoken}"?>' in str(soap.read_answer(r.content, "sendRequestXML"))


HOSTILE_QBXML = [
    "", "not xml", DEEP, BOMB + "<QBXML>&lol8;</QBXML>",
    '<QBXML><QBXMLMsgsRs><TxnDeletedQueryRs statusCode="' + HUGE + '"/></QBXMLMsgsRs></QBXML>',
    '<QBXML><QBXMLMsgsRs><TxnDeletedQueryRs statusCode="0" iteratorRemainingCount="-'
    + HUGE + '"/></QBXMLMsgsRs></QBXML>',
    "<QBXML><QBXMLMsgsRs>" + "<TxnDeletedQueryRs>" * 50_000 + "</TxnDeletedQueryRs>" * 50_000
    + "</QBXMLMsgsRs></QBXML>",
    '<QBXML><QBXMLMsgsRs><TxnDeletedQueryRs statusCode="0"><TxnDeletedRet><TxnID>'
    + "T" * 5000 + "</TxnID><TimeDeleted>" + HUGE + "</TimeDeleted></TxnDeletedRet>"
    "</TxnDeletedQueryRs></QBXMLMsgsRs></QBXML>",
]


@pytest.mark.parametrize("qbxml", HOSTILE_QBXML, ids=lambda x: repr(x[:40]))
def test_e3_hostile_qbxml_in_a_conversation_fails_the_run_clearly(
        client: TestClient, db: Database, actor: Actor, qbxml: str) -> None:
    created, company = qbwc_setup.create(db, actor=actor), FakeCompany()
    ticket, _ = _session(client, created, company)
    r = post(client, soap.request("receiveResponseXML", ticket=ticket, response=qbxml,
                                  hresult="", message="").encode())
    if client_fault(r):  # escaped, the 50,000-deep one is over the size limit
        assert r.status_code == 413 and len(r.request.content) > 2 * 1024 * 1024
        return
    progress = soap.read_answer(r.content, "receiveResponseXML")
    assert isinstance(progress, int) and progress <= 100
    if progress < 0:
        last = post(client, soap.request("getLastError", ticket=ticket).encode())
        assert soap.read_answer(last.content, "getLastError")  # a sentence, not empty
    closed = post(client, soap.request("closeConnection", ticket=ticket).encode())
    assert soap.read_answer(closed.content, "closeConnection").startswith(("CreditDesk", "Done"))


MEMO_FIELDS = ["TxnID", "TimeModified", "ListID", "FullName", "TxnDate", "RefNumber",
               "TotalAmount", "CreditRemaining", "CurrencyRef", "Memo", "Desc", "Quantity",
               "Rate", "Amount"]
odd_text = st.one_of(st.sampled_from(["", HUGE, "-1", "1e999", "NaN", "\u0663", "x" * 300,
                                      "2025-13-45", "9999-12-31T23:59:59+99:00"]),
                     st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                             max_size=30))


def _next_page(client: TestClient, ticket: str, company: FakeCompany) -> str:
    r = post(client, soap.request("sendRequestXML", ticket=ticket, strHCPResponse="",
                                  strCompanyFileName=company.path, qbXMLCountry="US",
                                  qbXMLMajorVers=13, qbXMLMinorVers=0).encode())
    page, _, _ = company.handle(str(soap.read_answer(r.content, "sendRequestXML")))
    return page


def _receive(client: TestClient, ticket: str, page: str) -> int:
    r = post(client, soap.request("receiveResponseXML", ticket=ticket, response=page,
                                  hresult="", message="").encode())
    return int(soap.read_answer(r.content, "receiveResponseXML"))


def land_swapped(client: TestClient, db: Database, actor: Actor, swaps: dict[str, str],
                 *, invoices: bool = False) -> int:
    """A conversation whose page of credit memos (``invoices``: of invoices, Y9) has
    ``swaps`` in place of the first value of each field named; the progress
    receiveResponseXML answers for that page."""
    created, company = qbwc_setup.create(db, actor=actor), FakeCompany()
    company.add_memo("25.00", "10.00", lines=[("Returned router", "2", "12.50", "25.00")])
    company.add_invoice("40.00", "15.00", tax="2.50",
                        lines=[("Router", "2", "20.00", "40.00")])
    ticket, request = _session(client, created, company)
    deleted, _, _ = company.handle(request)
    _receive(client, ticket, deleted)
    page = _next_page(client, ticket, company)
    if invoices:
        assert _receive(client, ticket, page) == 50  # the memos landed as they are
        page = _next_page(client, ticket, company)
    for name, value in swaps.items():  # each field's first value, replaced
        start, end = page.find(f"<{name}>"), page.find(f"</{name}>")
        if 0 <= start < end:
            page = page[:start + len(name) + 2] + escape(value) + page[end:]
    progress = _receive(client, ticket, page)
    post(client, soap.request("closeConnection", ticket=ticket).encode())
    return progress


@pytest.mark.parametrize("swaps", [
    {"TxnID": "T" * 300}, {"ListID": "L" * 300}, {"RefNumber": "R" * 300},
    {"FullName": "F" * 300}, {"TotalAmount": HUGE}, {"TxnDate": "2025-13-45"},
    {"TimeModified": "9999-12-31T23:59:59+99:00"}, {"Quantity": "1e999"}])
def test_e3_a_record_too_odd_to_land_is_skipped_and_the_page_lands(
        client: TestClient, db: Database, actor: Actor, swaps: dict[str, str]) -> None:
    # the memo page lands (the invoices follow it: 50%); PostgreSQL refused a 300-char id
    assert land_swapped(client, db, actor, swaps) == 50


@FUZZ
@given(swaps=st.dictionaries(st.sampled_from(MEMO_FIELDS), odd_text, max_size=5))
def test_e3_fuzzed_credit_memo_records_never_answer_5xx(
        client: TestClient, db: Database, actor: Actor, swaps: dict[str, str]) -> None:
    assert land_swapped(client, db, actor, swaps) in (-1, 50)


INVOICE_FIELDS = ["TxnID", "TimeModified", "ListID", "FullName", "TxnDate", "RefNumber",
                  "DueDate", "Subtotal", "SalesTaxTotal", "BalanceRemaining", "IsPending",
                  "Memo", "Desc", "Quantity", "Rate", "Amount"]


@FUZZ
@given(swaps=st.dictionaries(st.sampled_from(INVOICE_FIELDS), odd_text, max_size=5))
def test_e3_fuzzed_invoice_records_never_answer_5xx(
        client: TestClient, db: Database, actor: Actor, landed: Landed,
        swaps: dict[str, str]) -> None:
    assert land_swapped(client, db, actor, swaps, invoices=True) in (-1, 100)


params = st.dictionaries(st.sampled_from(sorted({n for names, _ in soap.METHODS.values()
                                                 for n in names} | {"extra"})),
                         st.text(max_size=40), max_size=6)


@FUZZ
@given(method=st.sampled_from([*soap.METHODS, "unknown"]), values=params)
def test_e3_fuzzed_calls_never_answer_5xx(client: TestClient, method: str,
                                          values: dict[str, str]) -> None:
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in values.items())
    r = post(client, call(method, inner))
    assert client_fault(r) or r.status_code == 200
