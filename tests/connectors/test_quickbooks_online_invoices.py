"""Y9: the QuickBooks Online connector reads invoices, over real HTTP against the fake."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import unquote_plus

import pytest

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_online as qbo
from tests.qbo_fixtures import REALM, FakeQbo


def records(batches: object) -> list[base.Record]:
    return [r for b in batches for r in b.records]  # type: ignore[attr-defined]


def queries(fake: FakeQbo, entity: str) -> list[str]:
    """The query texts of the requests so far that read ``entity``."""
    out = [unquote_plus(r.split("query=")[1].split("&")[0]) for r in fake.state.requests
           if "/query?" in r]
    return [q for q in out if f" FROM {entity} " in f"{q} "]


def test_an_invoice_is_read_with_its_tax_lines_balance_due_date_and_email(
        fake_qbo: FakeQbo) -> None:
    inv = fake_qbo.state.add_invoice(
        REALM, total="540.00", balance="440.00", tax="40.00", doc_number="1037",
        txn_date="2026-11-02", due_date="2026-12-02", email="ap@harbor.example",
        lines=[("Pallets", "2", "250", "500.00")])
    (invoice,) = [r for r in records(fake_qbo.connector().fetch({}))
                  if isinstance(r, base.RemoteInvoice)]
    assert invoice == base.RemoteInvoice(
        external_id=inv, number="1037", customer_external_id="58",
        customer_name="Harbor Supply Co", currency="USD", total_minor=54000,
        balance_minor=44000, issue_date=date(2026, 11, 2), due_date=date(2026, 12, 2),
        tax_minor=4000, voided=False, customer_email="ap@harbor.example",
        lines=(base.RemoteLine("Pallets", "2", 25000, 50000),))


def test_invoices_page_by_last_update_and_keep_their_own_cursor(fake_qbo: FakeQbo) -> None:
    memo = fake_qbo.state.add_memo(REALM, total="1.00")
    ids = {fake_qbo.state.add_invoice(REALM, total="1.00") for _ in range(7)}
    batches = list(fake_qbo.connector(page_size=3).fetch({}))
    got = records(batches)
    assert [r.external_id for r in got if isinstance(r, base.RemoteMemo)] == [memo]
    seen = [r.external_id for r in got if isinstance(r, base.RemoteInvoice)]
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    cursor = batches[-1].cursor
    assert cursor["invoices"]["skip"] == 0 and cursor["invoices"]["since"]
    assert cursor["since"] and cursor["cdc_since"]  # the memos' place is kept beside it
    invoice_queries = queries(fake_qbo, "Invoice")
    assert invoice_queries[0] == ("SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime "
                                  "STARTPOSITION 1 MAXRESULTS 3")
    # the next run starts from the invoices' own place
    fake_qbo.state.requests.clear()
    list(fake_qbo.connector(page_size=3).fetch(cursor))
    assert queries(fake_qbo, "Invoice")[0].startswith(
        f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= "
        f"'{cursor['invoices']['since']}' ")


def test_a_cursor_stored_before_invoices_reads_them_from_the_start(fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    inv = st.add_invoice(REALM, total="10.00")
    memo = st.add_memo(REALM, total="1.00")
    c = fake_qbo.connector()
    full = list(c.fetch({}))[-1].cursor
    old = {k: v for k, v in full.items() if k != "invoices"}  # what earlier versions stored
    st.requests.clear()
    got = records(c.fetch(old))
    assert [r.external_id for r in got if isinstance(r, base.RemoteInvoice)] == [inv]
    assert queries(fake_qbo, "Invoice")[0].startswith("SELECT * FROM Invoice ORDERBY")
    assert queries(fake_qbo, "CreditMemo")[0].startswith(  # memos go on from their place
        f"SELECT * FROM CreditMemo WHERE MetaData.LastUpdatedTime >= '{old['since']}'")
    assert memo  # (re-read within the overlap, harmless)


def test_cdc_reports_invoice_deletions_and_a_void_comes_through_the_query(
        fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    keep, gone, voided = (st.add_invoice(REALM, total="5.00") for _ in range(3))
    memo_gone = st.add_memo(REALM, total="2.00")
    c = fake_qbo.connector()
    cursor = list(c.fetch({}))[-1].cursor
    st.delete_invoice(REALM, gone)
    st.delete_memo(REALM, memo_gone)
    st.void_invoice(REALM, voided)
    st.requests.clear()
    batches = list(c.fetch(cursor))
    assert "entities=CreditMemo%2CInvoice" in st.requests[0]
    assert set(batches[0].records) == {base.DeletedInvoice(gone), base.Deleted(memo_gone)}
    (void,) = [r for r in records(batches) if isinstance(r, base.RemoteInvoice)
               and r.external_id == voided]
    assert void.voided and void.total_minor == 0 and void.balance_minor == 0
    assert all(r.external_id != keep or not r.voided for r in records(batches)
               if isinstance(r, base.RemoteInvoice))


def test_invoice_changes_count_toward_the_change_feeds_maximum(
        fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    st = fake_qbo.state
    c = fake_qbo.connector()
    cursor = list(c.fetch({}))[-1].cursor
    st.add_memo(REALM, total="1.00")
    st.add_invoice(REALM, total="1.00")
    monkeypatch.setattr(qbo, "CDC_MAX", 2)
    with pytest.raises(base.ReconcileNeeded, match="maximum"):
        list(c.fetch(cursor))


def test_targets_mix_memos_and_invoices_each_read_by_id(fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    memo = st.add_memo(REALM, total="30.00", remaining="10.00")
    # QuickBooks numbers each entity on its own: an invoice may have the memo's id
    same = st.add_invoice(REALM, total="70.00", balance="20.00", invoice_id=memo)
    gone = st.add_invoice(REALM, total="5.00")
    st.delete_invoice(REALM, gone)
    st.add_invoice(REALM, total="9.00")  # not named: never read
    c = fake_qbo.connector()
    st.requests.clear()
    got = records(c.fetch_targets({memo: base.CHANGED, base.invoice_key(same): base.CHANGED,
                                   base.invoice_key(gone): base.CHANGED,
                                   base.invoice_key("555"): base.DELETED}))
    assert [type(r).__name__ for r in got] == ["RemoteMemo", "RemoteInvoice",
                                               "DeletedInvoice", "DeletedInvoice"]
    assert got[0].external_id == got[1].external_id == memo
    assert got[0].remaining_minor == 1000 and got[1].balance_minor == 2000
    assert got[2:] == [base.DeletedInvoice(gone), base.DeletedInvoice("555")]
    assert [r.split("?")[0] for r in st.requests] == [
        f"GET /v3/company/{REALM}/creditmemo/{memo}", f"GET /v3/company/{REALM}/invoice/{same}",
        f"GET /v3/company/{REALM}/invoice/{gone}",
        f"GET /v3/company/{REALM}/query"]  # the memo's credit is used: its Payments (Y14)


def test_a_target_that_is_not_a_quickbooks_id_is_a_bad_record_never_a_request(
        fake_qbo: FakeQbo) -> None:
    c = fake_qbo.connector()
    fake_qbo.state.requests.clear()
    (bad,) = records(c.fetch_targets({base.invoice_key("../companyinfo/1"): base.CHANGED}))
    assert isinstance(bad, base.BadRecord) and "not a QuickBooks id" in bad.message
    assert fake_qbo.state.requests == []


@pytest.mark.parametrize("cloudevents", [False, True])
def test_webhook_invoice_events_become_invoice_targets(fake_qbo: FakeQbo,
                                                       cloudevents: bool) -> None:
    st = fake_qbo.state
    targets: dict[str, str] = {}
    for ids, operation in ((["130", "131"], "Update"), (["132"], "Void"),
                           (["131", "129"], "Delete"), (["128"], "Create")):
        body, headers = st.webhook(REALM, ids, operation, cloudevents=cloudevents,
                                   entity="Invoice", others=[("Payment", "311")])
        assert headers["intuit-signature"] == st.sign(body)
        for key, op in qbo.webhook_targets(json.loads(body))[REALM].items():
            targets = base.merge_targets(targets, {key: op})
    memo_body, _ = st.webhook(REALM, ["130"], cloudevents=cloudevents)
    targets = base.merge_targets(targets, qbo.webhook_targets(json.loads(memo_body))[REALM])
    assert targets == {base.invoice_key("130"): base.CHANGED,
                       base.invoice_key("131"): base.DELETED,  # a deletion wins
                       base.invoice_key("132"): base.CHANGED,  # a void: read it
                       base.invoice_key("129"): base.DELETED,
                       base.invoice_key("128"): base.CHANGED,
                       "130": base.CHANGED}  # the memo 130 is another record


def test_reconcile_lists_invoices_too_when_invoices_are_held(fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    memos = [st.add_memo(REALM, total="1.00") for _ in range(2)]
    invoices = [st.add_invoice(REALM, total="1.00") for _ in range(3)]
    st.delete_invoice(REALM, invoices[1])
    c = fake_qbo.connector(page_size=2)
    st.requests.clear()
    known = {*memos, *(base.invoice_key(i) for i in invoices), base.invoice_key("999")}
    outcome = c.reconcile({"since": "x", "cdc_since": "old"}, known, now=datetime.now(UTC))
    assert outcome.gone == {base.invoice_key(invoices[1]), base.invoice_key("999")}
    assert outcome.cursor["cdc_since"] != "old"
    assert queries(fake_qbo, "Invoice") == [
        f"SELECT Id FROM Invoice ORDERBY MetaData.CreateTime STARTPOSITION {n} MAXRESULTS 2"
        for n in (1, 3)] + [
        f"SELECT Id FROM Invoice WHERE Id IN ('{invoices[1]}', '999') MAXRESULTS 100"]
    # only invoices held: the memos are not listed
    st.requests.clear()
    outcome = c.reconcile({}, {base.invoice_key(invoices[0])}, now=datetime.now(UTC))
    assert outcome.gone == frozenset() and queries(fake_qbo, "CreditMemo") == []


def test_parse_invoice_tombstones_voids_and_bad_records() -> None:
    raw = {"Id": "130", "TotalAmt": Decimal("540.0"), "Balance": Decimal("440.0"),
           "CustomerRef": {"value": "58"}, "CurrencyRef": {"value": "CAD"},
           "TxnTaxDetail": {"TotalTax": Decimal("40.0")}, "TxnDate": "2026-11-02"}
    invoice = qbo.parse_invoice(raw, "USD")
    assert isinstance(invoice, base.RemoteInvoice)
    assert (invoice.total_minor, invoice.balance_minor, invoice.tax_minor, invoice.currency,
            invoice.number, invoice.due_date, invoice.lines) == (
        54000, 44000, 4000, "CAD", "130", None, None)
    assert qbo.parse_invoice({**raw, "TxnTaxDetail": {}}, "USD").tax_minor == 0
    assert qbo.parse_invoice({"Id": "9", "status": "Deleted"}, "USD") == base.DeletedInvoice("9")
    voided = qbo.parse_invoice({**raw, "TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided",
                                "TxnTaxDetail": {"TotalTax": 0}}, "USD")
    assert isinstance(voided, base.RemoteInvoice) and voided.voided
    for broken, words in (({**raw, "Balance": Decimal("600")}, "outside 0..total"),
                          ({**raw, "CustomerRef": {}}, "CustomerRef"),
                          ({**raw, "TotalAmt": Decimal("1.005")}, "TotalAmt"),
                          ({**raw, "Balance": None}, "Balance is missing"),
                          ({**raw, "DueDate": "soon"}, "Invoice 130")):
        bad = qbo.parse_invoice(broken, "USD")
        assert isinstance(bad, base.BadRecord) and words in bad.message, broken
    lined = qbo.parse_invoice({**raw, "Line": [{"Amount": 20.0, "DetailType":
                                                "SalesItemLineDetail"}]}, "USD")
    assert lined.lines is None and "Invoice 130 lines" in (lined.line_problem or "")


def test_a_company_without_invoices_costs_no_extra_page(fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="1.00")
    batches = list(fake_qbo.connector().fetch({}))
    assert [len(b.records) for b in batches] == [1]  # the memo page only
    assert "invoices" not in batches[-1].cursor
    assert len(queries(fake_qbo, "Invoice")) == 1  # asked, found nothing, moved nothing
