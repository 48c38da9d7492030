"""The Sage Intacct connector over real HTTP against the fake gateway, and its pure parts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from creditdesk.connectors import base, intacct_xml
from creditdesk.connectors import intacct_records as records_mod
from creditdesk.connectors import sage_intacct as intacct
from creditdesk.connectors.base import RemoteLine, RemoteMemo
from tests.intacct_fixtures import COMPANY, USER, FakeIntacct
from tests.intacct_fixtures import fake_intacct as fake_intacct  # the fixture


def records(batches: list[base.Batch]) -> list[base.Record]:
    return [r for b in batches for r in b.records]


def memos(batches: list[base.Batch]) -> dict[str, base.RemoteMemo]:
    return {r.external_id: r for r in records(batches) if isinstance(r, base.RemoteMemo)}


# auth and sessions -----------------------------------------------------------------
def test_y2_get_api_session_then_every_call_uses_the_session(fake_intacct: FakeIntacct) -> None:
    fake_intacct.state.add_adjustment(COMPANY, total="-250.00")
    c = fake_intacct.connector()
    list(c.fetch({}))
    list(c.fetch({}))
    assert fake_intacct.state.requests[:2] == ["auth login", "getAPISession"]
    assert fake_intacct.state.requests.count("auth login") == 1  # one session for both runs
    assert fake_intacct.state.requests[2] == "auth session"
    assert c.session_url == fake_intacct.endpoint  # the endpoint getAPISession named


def test_y2_check_credentials_connects(fake_intacct: FakeIntacct) -> None:
    info = intacct.check_credentials(fake_intacct.client, fake_intacct.credentials().to_dict(),
                                     endpoint=fake_intacct.endpoint, retry=fake_intacct.retry())
    assert info["company_id"] == COMPANY and info["user_id"] == USER
    assert info["endpoint"] == fake_intacct.endpoint and info["session_timeout"]


def test_y2_bad_sender_is_refused_clearly(fake_intacct: FakeIntacct) -> None:
    with pytest.raises(base.Refused, match=r"Web Services sender 'fake-sender'.*XL03000006"):
        intacct.check_credentials(fake_intacct.client,
                                  fake_intacct.credentials(sender_password="wrong"),
                                  endpoint=fake_intacct.endpoint, retry=fake_intacct.retry())


def test_y2_bad_user_password_is_refused_clearly(fake_intacct: FakeIntacct) -> None:
    with pytest.raises(base.Refused, match=r"sign-in of user 'api_user' at company "
                                           r"'HARBOR-CO'.*Sign-in information is incorrect"):
        intacct.check_credentials(fake_intacct.client,
                                  fake_intacct.credentials(user_password="wrong"),
                                  endpoint=fake_intacct.endpoint, retry=fake_intacct.retry())


def test_y2_missing_credential_fields_are_refused() -> None:
    with pytest.raises(base.Refused, match="company_id, user_password"):
        intacct.Credentials.from_dict({"sender_id": "s", "sender_password": "p",
                                       "user_id": "u", "company_id": " "})


def test_y6_expired_session_is_recreated_once(fake_intacct: FakeIntacct) -> None:
    no = fake_intacct.state.add_adjustment(COMPANY, total="-10.00")
    c = fake_intacct.connector()
    c.open_session()
    fake_intacct.state.inject("expired_session")
    assert set(memos(list(c.fetch({})))) == {no}
    assert fake_intacct.state.requests.count("getAPISession") == 2


def test_y6_expired_session_with_changed_password_needs_reconnection(
        fake_intacct: FakeIntacct) -> None:
    c = fake_intacct.connector()
    c.open_session()
    fake_intacct.state.companies[COMPANY].users[USER] = "rotated"
    fake_intacct.state.expire_sessions()
    with pytest.raises(base.NeedsReconnection, match="Sign-in information is incorrect"):
        list(c.fetch({}))


# incremental reads and paging ---------------------------------------------------------
def test_y6_incremental_filter_on_whenmodified(fake_intacct: FakeIntacct) -> None:
    state = fake_intacct.state
    old = state.add_adjustment(COMPANY, total="-100.00")
    state.tick(2)
    changed = state.add_adjustment(COMPANY, total="-200.00")
    c = fake_intacct.connector()
    first = list(c.fetch({}))
    assert set(memos(first)) == {old, changed}
    cursor = first[-1].cursor
    assert cursor == {"since": state.companies[COMPANY].adjustments[changed]["WHENMODIFIED"]}
    state.tick(5)
    state.apply_credit(COMPANY, changed, "-50.00")
    new = state.add_adjustment(COMPANY, total="-30.00")
    second = memos(list(c.fetch(cursor)))
    assert set(second) == {changed, new}
    assert (second[changed].total_minor, second[changed].remaining_minor) == (20000, 5000)
    queries = [r for r in state.requests if r.startswith("readByQuery")]
    assert queries[-2:] == [f"readByQuery WHENMODIFIED >= '{cursor['since']}'",
                            "readByQuery ARINVOICE "]  # no invoice seen yet: all of them


def test_y6_pages_through_read_more_until_none_remain(fake_intacct: FakeIntacct) -> None:
    ids = {fake_intacct.state.add_adjustment(COMPANY, total="-1.00") for _ in range(7)}
    batches = list(fake_intacct.connector(page_size=3).fetch({}))
    assert [len(b.records) for b in batches] == [3, 3, 1, 0]  # then the (empty) invoices
    assert set(memos(batches)) == ids and len(records(batches)) == 7
    assert fake_intacct.state.requests.count("readMore") == 2
    assert batches[0].cursor["seen_max"] and "since" not in batches[0].cursor
    assert "result_id" not in batches[0].cursor  # a resume never continues a result set
    assert "seen_max" not in batches[-1].cursor and batches[-1].cursor["since"]


@pytest.mark.reliability
def test_y6_a_worker_killed_after_fetching_a_page_it_never_landed_loses_nothing(
        fake_intacct: FakeIntacct) -> None:
    """readMore moves the result set on: the second page, fetched and then lost with the
    worker, is read again by the next run because it queries from ``since``."""
    ids = [fake_intacct.state.add_adjustment(COMPANY, total="-1.00") for _ in range(5)]
    pages = iter(fake_intacct.connector(page_size=2).fetch({}))
    first = next(pages)  # landed; its cursor is saved
    next(pages)  # fetched by readMore, then the worker dies before landing it
    before = len(fake_intacct.state.requests)
    rest = list(fake_intacct.connector(page_size=2).fetch(first.cursor))
    assert set(memos([first, *rest])) == set(ids)
    resumed = [r for r in fake_intacct.state.requests[before:] if r.startswith("read")]
    assert resumed == ["readByQuery ", "readMore", "readMore",  # again from the old since
                       "readByQuery ARINVOICE "]


def test_y6_a_cursor_saved_with_a_result_id_queries_again(fake_intacct: FakeIntacct) -> None:
    """Cursors saved by the earlier version carried ``result_id``; it is not followed."""
    ids = [fake_intacct.state.add_adjustment(COMPANY, total="-1.00") for _ in range(5)]
    rest = list(fake_intacct.connector(page_size=2).fetch({"result_id": "7765623332ab"}))
    assert set(memos(rest)) == set(ids)
    assert next(r for r in fake_intacct.state.requests if r.startswith("read")) == "readByQuery "


# mapping ---------------------------------------------------------------------------
def test_y4_money_is_exact_in_minor_units(fake_intacct: FakeIntacct) -> None:
    s = fake_intacct.state
    usd = s.add_adjustment(COMPANY, total="-1234.56", due="-234.51")
    jpy = s.add_adjustment(COMPANY, total="-1000", due="-1000", currency="JPY")
    odd = s.add_adjustment(COMPANY, total="-1.005")  # three decimals: never rounded (M1)
    got = list(fake_intacct.connector().fetch({}))
    m = memos(got)
    assert (m[usd].total_minor, m[usd].remaining_minor, m[usd].currency) == (123456, 23451, "USD")
    assert (m[jpy].total_minor, m[jpy].remaining_minor, m[jpy].currency) == (1000, 1000, "JPY")
    bad = [r for r in records(got) if isinstance(r, base.BadRecord)]
    assert [b.external_id for b in bad] == [odd]


def test_y4_fully_applied_credit_has_zero_remaining(fake_intacct: FakeIntacct) -> None:
    no = fake_intacct.state.add_adjustment(COMPANY, total="-80.00", due="0")
    memo = memos(list(fake_intacct.connector().fetch({})))[no]
    assert (memo.total_minor, memo.remaining_minor, memo.voided) == (8000, 0, False)
    assert memo.number == f"ADJ-{no}" and memo.customer_external_id == "C-0058"
    assert memo.issue_date is not None and memo.issue_date.isoformat() == "2025-03-04"


def test_y4_reversed_is_void_and_the_reversal_entry_is_not_a_memo(
        fake_intacct: FakeIntacct) -> None:
    s = fake_intacct.state
    no = s.add_adjustment(COMPANY, total="-75.00")
    reversal = s.reverse(COMPANY, no)
    got = records(list(fake_intacct.connector().fetch({})))
    assert [r.external_id for r in got] == [no]
    assert isinstance(got[0], base.RemoteMemo) and got[0].voided
    assert got[0].total_minor == 7500 and reversal != no


def test_y4_debit_memos_and_drafts_are_not_credit_memos(fake_intacct: FakeIntacct) -> None:
    s = fake_intacct.state
    credit = s.add_adjustment(COMPANY, total="-5.00")
    s.add_adjustment(COMPANY, total="40.00")  # a debit memo
    s.add_adjustment(COMPANY, total="-9.00", state="Draft")
    assert set(memos(list(fake_intacct.connector().fetch({})))) == {credit}


def test_y6_malformed_record_is_reported_and_the_rest_land(fake_intacct: FakeIntacct) -> None:
    s = fake_intacct.state
    good = [s.add_adjustment(COMPANY, total="-3.00") for _ in range(2)]
    broken = s.add_adjustment(COMPANY, total="-4.00")
    s.malform(COMPANY, broken)
    got = records(list(fake_intacct.connector().fetch({})))
    bad = [r for r in got if isinstance(r, base.BadRecord)]
    assert len(bad) == 1 and bad[0].external_id == broken and "TRX_TOTALENTERED" in bad[0].message
    assert {r.external_id for r in got if isinstance(r, base.RemoteMemo)} == set(good)


# faults ----------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["throttle", "429", "500", "502", "503", "timeout"])
def test_y6_transient_faults_are_retried_with_back_off(fake_intacct: FakeIntacct,
                                                       fault: str) -> None:
    no = fake_intacct.state.add_adjustment(COMPANY, total="-12.00")
    c = fake_intacct.connector()
    c.open_session()
    fake_intacct.state.inject(fault, fault)
    assert set(memos(list(c.fetch({})))) == {no}
    expected = [1.0, 1.0] if fault == "429" else [0.01, 0.02]  # Retry-After: 1 is honoured
    assert fake_intacct.sleeps == expected


@pytest.mark.parametrize("fault,match", [("throttle", "Please Try Again Later"),
                                         ("503", "HTTP 503"), ("timeout", "timed out")])
def test_y6_faults_that_outlast_the_retries_fail_as_transient(
        fake_intacct: FakeIntacct, fault: str, match: str) -> None:
    c = fake_intacct.connector()
    c.open_session()
    fake_intacct.state.inject(*[fault] * 4)
    with pytest.raises(base.Transient, match=match):
        list(c.fetch({}))


def test_y6_a_body_that_is_not_intacct_xml_fails_the_run(fake_intacct: FakeIntacct) -> None:
    fake_intacct.state.inject("garbage")
    with pytest.raises(base.ConnectorError, match="<html> document instead of <response>"):
        list(fake_intacct.connector().fetch({}))


# envelopes -------------------------------------------------------------------------
def test_request_envelope_has_control_login_and_function() -> None:
    body = intacct_xml.request("snd", "spw", intacct_xml.login("u", "CO", "upw"),
                               intacct_xml.read_by_query("ARADJUSTMENT", ["RECORDNO"],
                                                         "WHENMODIFIED >= '03/01/2025 00:00:00'",
                                                         3), controlid="c1")
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"WHENMODIFIED &gt;= '03/01/2025 00:00:00'" in body
    root = ET.fromstring(body)
    assert [(e.tag, e.text) for e in root.find("control")] == [
        ("senderid", "snd"), ("password", "spw"), ("controlid", "c1"), ("uniqueid", "false"),
        ("dtdversion", "3.0"), ("includewhitespace", "false")]
    assert root.findtext("operation/authentication/login/companyid") == "CO"
    assert root.find("operation/content/function").get("controlid") == "f1"
    assert root.findtext("operation/content/function/readByQuery/pagesize") == "3"


def test_error_envelopes_at_each_level_are_read() -> None:
    function_failure = (
        b"<response><control><status>success</status></control><operation><authentication>"
        b"<status>success</status></authentication><result><status>failure</status>"
        b"<function>readByQuery</function><controlid>f1</controlid><errormessage><error>"
        b"<errorno>Query Failed</errorno><description></description><description2>Object "
        b"definition BADOBJECT not found</description2><correction></correction></error><error>"
        b"<errorno>BL01001973</errorno><description2>second</description2></error>"
        b"</errormessage></result></operation></response>")
    parsed = intacct_xml.parse(function_failure)
    assert parsed.control_ok and parsed.auth_ok and not parsed.results[0].ok
    assert intacct_xml.describe(parsed.results[0].errors) == (
        "Query Failed: Object definition BADOBJECT not found; BL01001973: second")
    control = intacct_xml.parse(
        b"<response><control><status>failure</status></control><errormessage><error><errorno>"
        b"XL03000006</errorno></error></errormessage></response>")
    assert not control.control_ok and control.control_errors[0].errorno == "XL03000006"


def test_untrusted_xml_with_entities_is_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<response>&b;</response>")
    with pytest.raises(intacct_xml.MalformedResponse):
        intacct_xml.parse(bomb)


def test_parse_adjustment_signs_and_currency_fallbacks() -> None:
    base_only = intacct.parse_adjustment({"RECORDNO": "1", "CUSTOMERID": "C", "STATE": "Posted",
                                          "TOTALENTERED": "-250", "TOTALDUE": "-100",
                                          "BASECURR": "CAD"})
    assert isinstance(base_only, base.RemoteMemo)
    assert (base_only.total_minor, base_only.remaining_minor, base_only.currency) == (
        25000, 10000, "CAD")
    over = intacct.parse_adjustment({"RECORDNO": "2", "CUSTOMERID": "C", "TOTALENTERED": "-1",
                                     "TOTALDUE": "-2"})
    assert isinstance(over, base.BadRecord) and "outside" in over.message
    assert intacct.parse_adjustment({"TOTALENTERED": "-1"}) == base.BadRecord(
        None, "an AR adjustment without a RECORDNO")


# memo lines ----------------------------------------------------------------------------------
def test_credit_memo_lines_come_from_a_query_on_adjustment_lines(
        fake_intacct: FakeIntacct, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intacct, "LINE_PAGE_SIZE", 2)  # offset paging of the lines
    st = fake_intacct.state
    a = st.add_adjustment(COMPANY, total="-250.00", lines=[
        ("Pallet return", "-200.00"), ("Freight", "-40.00"), ("Fuel", "-10.00")])
    b = st.add_adjustment(COMPANY, total="-30.00", lines=[("Goodwill", "-30")])
    debit = st.add_adjustment(COMPANY, total="75.00")  # a debit memo: no lines asked for
    found = memos(list(fake_intacct.connector(page_size=1).fetch({})))
    assert set(found) == {a, b}
    assert found[a].lines == (RemoteLine("Pallet return", None, None, 20000),
                              RemoteLine("Freight", None, None, 4000),
                              RemoteLine("Fuel", None, None, 1000))
    assert found[b].lines == (RemoteLine("Goodwill", None, None, 3000),)
    queries = [r for r in st.requests if r.startswith("query ") and "TAXENTRY" not in r]
    # per page: its lines (offset-paged), then its applications (Y14: AR payment details)
    assert queries == ["query ARADJUSTMENTITEM offset 0", "query ARADJUSTMENTITEM offset 2",
                       "query ARPYMTDETAIL offset 0",
                       "query ARADJUSTMENTITEM offset 0", "query ARPYMTDETAIL offset 0"]
    assert found[a].applications == found[b].applications == ()  # none applied yet
    assert debit not in found


def test_an_unreadable_line_keeps_the_memo_and_reports_the_lines() -> None:
    memo = RemoteMemo("1", "ADJ-1", "C1", "Harbor", "USD", 100, 100, None)
    kept = records_mod.with_lines(memo, [{"LINE_NO": "1", "TRX_AMOUNT": "-1.001"}])
    assert kept.lines is None and "line 1 TRX_AMOUNT" in (kept.line_problem or "")
    assert records_mod.with_lines(memo, [{"LINE_NO": "1", "AMOUNT": "-1"}]).lines == (
        RemoteLine("", None, None, 100),)


# hard deletes: a periodic listing of every RECORDNO -------------------------------------------
def delete_request(*record_nos: str) -> ET.Element:
    fn = ET.Element("delete")
    ET.SubElement(fn, "object").text = "ARADJUSTMENT"
    ET.SubElement(fn, "keys").text = ",".join(record_nos)
    return fn


def test_fake_hard_delete_leaves_no_trace_in_read_by_query(fake_intacct: FakeIntacct) -> None:
    keep = fake_intacct.state.add_adjustment(COMPANY, total="-5.00")
    gone = fake_intacct.state.add_adjustment(COMPANY, total="-6.00")
    c = fake_intacct.connector()
    assert c._run(delete_request(gone)).ok
    assert not c._run(delete_request(gone)).ok  # no such record any more
    assert set(memos(list(c.fetch({})))) == {keep}
    assert gone not in fake_intacct.state.companies[COMPANY].lines


def test_reconcile_lists_every_record_no_then_confirms_the_missing(
        fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    ids = [st.add_adjustment(COMPANY, total="-1.00") for _ in range(4)]
    debit = st.add_adjustment(COMPANY, total="3.00")  # listed too: it is an adjustment
    st.delete_adjustment(COMPANY, ids[1])
    c = fake_intacct.connector(page_size=2)
    now = datetime.now(UTC)
    st.requests.clear()
    outcome = c.reconcile({"since": "03/01/2025 00:00:00"}, {*ids, "99999"}, now=now)
    assert outcome.gone == {ids[1], "99999"}
    assert outcome.cursor == {"since": "03/01/2025 00:00:00", "reconciled_at": now.isoformat()}
    functions = [r for r in st.requests if not r.startswith("auth") and r != "getAPISession"]
    assert functions == ["readByQuery ", "readMore", "query ARADJUSTMENT offset 0"]
    assert debit not in outcome.gone


def test_reconcile_is_due_once_per_interval(fake_intacct: FakeIntacct) -> None:
    c = fake_intacct.connector()
    now = datetime.now(UTC)
    assert c.reconcile_due({}, now=now, has_memos=False)
    assert c.reconcile_due({"reconciled_at": "garbled"}, now=now, has_memos=True)
    recent = {"reconciled_at": (now - timedelta(hours=23)).isoformat()}
    old = {"reconciled_at": (now - timedelta(hours=24)).isoformat()}
    assert not c.reconcile_due(recent, now=now, has_memos=True)
    assert c.reconcile_due(old, now=now, has_memos=True)


def test_reconcile_with_nothing_held_only_stamps_the_time(fake_intacct: FakeIntacct) -> None:
    c = fake_intacct.connector()
    now = datetime.now(UTC)
    outcome = c.reconcile({"since": "x"}, set(), now=now)
    assert outcome == base.Reconciliation(frozenset(),
                                          {"since": "x", "reconciled_at": now.isoformat()})
    assert fake_intacct.state.requests == []


def test_a_listing_cut_off_mid_way_raises_and_lists_nothing(fake_intacct: FakeIntacct) -> None:
    ids = [fake_intacct.state.add_adjustment(COMPANY, total="-1.00") for _ in range(5)]
    c = fake_intacct.connector(page_size=2)
    fake_intacct.state.inject_after(2, *["503"] * 4)  # sign-in, first page, then readMore
    with pytest.raises(base.Transient, match="503"):
        c.reconcile({}, set(ids), now=datetime.now(UTC))
