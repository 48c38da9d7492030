"""Sage Intacct AR invoices (Y9) over real HTTP against the fake gateway: mapping, lines, states,
paging, the killed-run re-query, targeted reads, hard deletes, and cursors stored before."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from creditdesk.connectors import base
from creditdesk.connectors import intacct_invoices as inv
from creditdesk.connectors import sage_intacct as intacct
from creditdesk.connectors.base import RemoteInvoice, RemoteLine
from tests.intacct_fixtures import COMPANY, FakeIntacct
from tests.intacct_fixtures import fake_intacct as fake_intacct  # the fixture


def records(batches: list[base.Batch]) -> list[base.Record]:
    return [r for b in batches for r in b.records]


def invoices(batches: list[base.Batch]) -> dict[str, RemoteInvoice]:
    return {r.external_id: r for r in records(batches) if isinstance(r, RemoteInvoice)}


def invoice_reads(fake: FakeIntacct) -> list[str]:
    return [r for r in fake.state.requests
            if ("ARINVOICE" in r and "TAXENTRY" not in r) or r == "readMore"]


# mapping ---------------------------------------------------------------------------------
def test_y9_an_invoice_with_its_lines_dates_and_balance(fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    no = st.add_invoice(COMPANY, total="1234.56", due="234.51", when_created="03/01/2025",
                        when_due="03/31/2025", lines=[("Consulting", "1000.00"),
                                                      ("Sales tax 8.5%", "234.56")])
    got = invoices(list(fake_intacct.connector().fetch({})))[no]
    assert got == RemoteInvoice(
        external_id=no, number=f"INV-{no}", customer_external_id="C-0058",
        customer_name="Harbor Supply Co", currency="USD", total_minor=123456,
        balance_minor=23451, issue_date=date(2025, 3, 1), due_date=date(2025, 3, 31),
        tax_minor=None, voided=False,  # T5: a US sales tax line is no tax figure: unknown
        lines=(RemoteLine("Consulting", None, None, 100000),
               RemoteLine("Sales tax 8.5%", None, None, 23456)))


def test_y9_states_paid_partly_paid_reversed_draft_and_negative(
        fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    open_ = st.add_invoice(COMPANY, total="100.00")
    paid = st.add_invoice(COMPANY, total="80.00", due="0")
    partly = st.add_invoice(COMPANY, total="80.00", due="30.00")
    reversed_ = st.add_invoice(COMPANY, total="60.00")
    reversal = st.reverse_invoice(COMPANY, reversed_)
    st.add_invoice(COMPANY, total="70.00", state="Draft")  # not owed yet: not reported
    st.add_invoice(COMPANY, total="-20.00")  # a negative invoice is a credit, not owed
    jpy = st.add_invoice(COMPANY, total="1000", currency="JPY")
    got = invoices(list(fake_intacct.connector().fetch({})))
    assert set(got) == {open_, paid, partly, reversed_, jpy}
    assert reversal not in got
    assert [(got[k].total_minor, got[k].balance_minor, got[k].voided) for k in
            (open_, paid, partly, reversed_)] == [
        (10000, 10000, False), (8000, 0, False), (8000, 3000, False), (6000, 0, True)]
    assert (got[jpy].currency, got[jpy].total_minor) == ("JPY", 1000)


def test_y6_a_malformed_invoice_is_reported_and_the_rest_land(fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    good = st.add_invoice(COMPANY)
    broken = st.add_invoice(COMPANY)
    st.update_invoice(COMPANY, broken, TRX_TOTALENTERED="twelve")
    odd = st.add_invoice(COMPANY, total="10.005")  # three decimals: never rounded (M1)
    got = records(list(fake_intacct.connector().fetch({})))
    bad = {r.external_id: r.message for r in got if isinstance(r, base.BadRecord)}
    assert set(bad) == {broken, odd} and "TRX_TOTALENTERED" in bad[broken]
    assert {r.external_id for r in got if isinstance(r, RemoteInvoice)} == {good}


def test_y9_an_unreadable_line_keeps_the_invoice_and_reports_the_lines(
        fake_intacct: FakeIntacct) -> None:
    no = fake_intacct.state.add_invoice(COMPANY, total="10.00", lines=[("Odd", "10.001")])
    got = invoices(list(fake_intacct.connector().fetch({})))[no]
    assert got.lines is None and "line 1 TRX_AMOUNT" in (got.line_problem or "")
    assert got.total_minor == 1000


def test_parse_invoice_falls_back_to_base_currency_and_checks_the_balance() -> None:
    base_only = inv.parse_invoice({"RECORDNO": "1", "CUSTOMERID": "C", "TOTALENTERED": "250",
                                   "TOTALDUE": "100", "BASECURR": "CAD", "WHENDUE": ""})
    assert isinstance(base_only, RemoteInvoice)
    assert (base_only.total_minor, base_only.balance_minor, base_only.currency,
            base_only.due_date) == (25000, 10000, "CAD", None)
    over = inv.parse_invoice({"RECORDNO": "2", "CUSTOMERID": "C", "TOTALENTERED": "1",
                              "TOTALDUE": "2"})
    assert isinstance(over, base.BadRecord) and "outside" in over.message
    bad_date = inv.parse_invoice({"RECORDNO": "3", "CUSTOMERID": "C", "TOTALENTERED": "1",
                                  "TOTALDUE": "1", "WHENDUE": "soon"})
    assert isinstance(bad_date, base.BadRecord) and "WHENDUE 'soon'" in bad_date.message
    assert inv.parse_invoice({"TOTALENTERED": "1"}) == base.BadRecord(
        None, "an AR invoice without a RECORDNO")


def test_y9_invoice_lines_are_read_in_bulk_and_offset_paged(
        fake_intacct: FakeIntacct, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intacct, "LINE_PAGE_SIZE", 2)
    st = fake_intacct.state
    a = st.add_invoice(COMPANY, total="30.00", lines=[("A", "10"), ("B", "10"), ("C", "10")])
    b = st.add_invoice(COMPANY, total="5.00")
    got = invoices(list(fake_intacct.connector().fetch({})))
    assert [line.description for line in got[a].lines or ()] == ["A", "B", "C"]
    assert got[b].lines == (RemoteLine("Services", None, None, 500),)
    assert [r for r in st.requests if r.startswith("query ARINVOICEITEM")] == [
        "query ARINVOICEITEM offset 0", "query ARINVOICEITEM offset 2"]


# incremental reads -------------------------------------------------------------------------
def test_y9_invoices_are_read_after_memos_with_their_own_since(fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    memo = st.add_adjustment(COMPANY, total="-10.00")
    old = st.add_invoice(COMPANY)
    c = fake_intacct.connector()
    first = list(c.fetch({}))
    cursor = first[-1].cursor
    assert cursor == {"since": st.companies[COMPANY].adjustments[memo]["WHENMODIFIED"],
                      "invoices_since": st.companies[COMPANY].invoices[old]["WHENMODIFIED"]}
    assert isinstance(first[0].records[0], base.RemoteMemo) and set(invoices(first)) == {old}
    st.tick(5)
    st.pay_invoice(COMPANY, old, "100.00")
    new = st.add_invoice(COMPANY)
    st.requests.clear()
    second = invoices(list(c.fetch(cursor)))
    assert set(second) == {old, new} and second[old].balance_minor == 10000
    assert [r for r in st.requests if r.startswith("readByQuery")] == [
        f"readByQuery WHENMODIFIED >= '{cursor['since']}'",
        f"readByQuery ARINVOICE WHENMODIFIED >= '{cursor['invoices_since']}'"]


def test_y9_invoices_page_through_read_more(fake_intacct: FakeIntacct) -> None:
    ids = {fake_intacct.state.add_invoice(COMPANY) for _ in range(5)}
    batches = list(fake_intacct.connector(page_size=2).fetch({}))
    assert [len(b.records) for b in batches] == [0, 2, 2, 1]  # no memos, then the invoices
    assert set(invoices(batches)) == ids
    assert batches[1].cursor == {"invoices_seen_max": batches[1].cursor["invoices_seen_max"]}
    assert set(batches[-1].cursor) == {"invoices_since"}
    assert invoice_reads(fake_intacct) == ["readByQuery ARINVOICE ", "query ARINVOICEITEM offset 0",
                                           "readMore", "query ARINVOICEITEM offset 0",
                                           "readMore", "query ARINVOICEITEM offset 0"]


@pytest.mark.reliability
def test_y6_a_run_killed_mid_invoices_queries_again_from_since(fake_intacct: FakeIntacct) -> None:
    """As for memos: the invoice page fetched by readMore and lost with the worker is read
    again by the next run, which queries from ``invoices_since`` and never resumes readMore."""
    st = fake_intacct.state
    memo = st.add_adjustment(COMPANY, total="-1.00")
    early = st.add_invoice(COMPANY)
    first_run = list(fake_intacct.connector().fetch({}))
    cursor = first_run[-1].cursor
    st.tick(3)
    ids = [st.add_invoice(COMPANY) for _ in range(4)]
    pages = iter(fake_intacct.connector(page_size=2).fetch(cursor))
    next(pages)  # memos: none changed
    landed = next(pages)  # the first invoice page, landed; its cursor is saved
    assert landed.cursor["since"] == cursor["since"] and "invoices_seen_max" in landed.cursor
    next(pages)  # fetched by readMore, then the worker dies before landing it
    st.requests.clear()
    rest = list(fake_intacct.connector(page_size=2).fetch(landed.cursor))
    assert set(invoices([landed, *rest])) == {early, *ids}  # early: same second as since
    assert early in invoices(first_run)
    assert [r for r in st.requests if r.startswith(("readByQuery ARINVOICE", "readMore"))] == [
        f"readByQuery ARINVOICE WHENMODIFIED >= '{cursor['invoices_since']}'", "readMore",
        "readMore"]
    assert memo in {r.external_id for r in records(first_run)}


def test_y9_a_cursor_stored_before_invoices_reads_them_from_the_beginning(
        fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    st.add_adjustment(COMPANY, total="-1.00")
    early = st.add_invoice(COMPANY)
    st.tick(5)
    stored = {"since": st.now().strftime("%m/%d/%Y %H:%M:%S"),
              "reconciled_at": "2026-01-01T00:00:00+00:00"}  # a memo-only cursor
    batches = list(fake_intacct.connector().fetch(stored))
    assert not [r for r in records(batches) if isinstance(r, base.RemoteMemo)]
    assert set(invoices(batches)) == {early}
    assert batches[-1].cursor == {**stored, "invoices_since":
                                  st.companies[COMPANY].invoices[early]["WHENMODIFIED"]}


# targeted reads ------------------------------------------------------------------------------
def test_targets_mix_memo_ids_and_invoice_keys(fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    memo = st.add_adjustment(COMPANY, total="-25.00", lines=[("Return", "-25.00")])
    other = st.add_adjustment(COMPANY, total="-1.00")  # not named: not read
    invoice = st.add_invoice(COMPANY, total="40.00", due="15.00")
    gone = st.add_invoice(COMPANY)
    said_gone = st.add_invoice(COMPANY)
    st.delete_invoice(COMPANY, gone)
    draft = st.add_invoice(COMPANY, state="Draft")
    st.requests.clear()
    batches = list(fake_intacct.connector().fetch_targets({
        memo: base.CHANGED, "99999": base.CHANGED, base.invoice_key(invoice): base.CHANGED,
        base.invoice_key(gone): base.CHANGED, base.invoice_key(said_gone): base.DELETED,
        base.invoice_key(draft): base.CHANGED}))
    assert all(b.cursor is None for b in batches)
    got = records(batches)
    memos = [r for r in got if isinstance(r, base.RemoteMemo)]
    assert [(m.external_id, m.lines) for m in memos] == [
        (memo, (RemoteLine("Return", None, None, 2500),))]
    assert base.Deleted("99999") in got and other not in {r.external_id for r in got}
    read = [r for r in got if isinstance(r, RemoteInvoice)]
    assert [(i.external_id, i.balance_minor, len(i.lines or ())) for i in read] == [
        (invoice, 1500, 1)]
    assert base.DeletedInvoice(gone) in got and base.DeletedInvoice(said_gone) in got
    assert draft not in {r.external_id for r in got}  # a draft is not owed: left out
    assert [r for r in st.requests if r.startswith("query ARINVOICE ")] == [
        "query ARINVOICE offset 0"]  # said_gone is not read


# hard deletes ---------------------------------------------------------------------------------
def test_reconcile_finds_hard_deleted_invoices_by_their_keys(fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    memos = [st.add_adjustment(COMPANY, total="-1.00") for _ in range(2)]
    kept = [st.add_invoice(COMPANY) for _ in range(3)]
    deleted = st.add_invoice(COMPANY)
    st.delete_invoice(COMPANY, deleted)
    st.delete_adjustment(COMPANY, memos[1])
    known = {*memos, *(base.invoice_key(i) for i in [*kept, deleted])}
    st.requests.clear()
    now = datetime.now(UTC)
    outcome = fake_intacct.connector(page_size=2).reconcile({}, known, now=now)
    assert outcome.gone == {memos[1], base.invoice_key(deleted)}
    assert outcome.cursor == {"reconciled_at": now.isoformat()}
    listing = [r for r in st.requests if not r.startswith("auth") and r != "getAPISession"]
    assert listing == ["readByQuery ", "query ARADJUSTMENT offset 0",
                       "readByQuery ARINVOICE ", "readMore", "query ARINVOICE offset 0"]


def test_fake_deletes_invoices_through_the_delete_function(fake_intacct: FakeIntacct) -> None:
    keep, gone = fake_intacct.state.add_invoice(COMPANY), fake_intacct.state.add_invoice(COMPANY)
    c = fake_intacct.connector()
    request = ET.Element("delete")
    ET.SubElement(request, "object").text = "ARINVOICE"
    ET.SubElement(request, "keys").text = gone
    assert c._run(request).ok and not c._run(request).ok  # no such record any more
    assert set(invoices(list(c.fetch({})))) == {keep}


def test_reconcile_holding_only_invoices_lists_only_invoices(fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    st.add_adjustment(COMPANY, total="-1.00")
    kept = st.add_invoice(COMPANY)
    st.requests.clear()
    outcome = fake_intacct.connector().reconcile(
        {}, {base.invoice_key(kept), base.invoice_key("424242")}, now=datetime.now(UTC))
    assert outcome.gone == {base.invoice_key("424242")}
    assert not [r for r in st.requests if r.startswith("readByQuery ") and "ARINVOICE" not in r]
