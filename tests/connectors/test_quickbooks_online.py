"""The QuickBooks Online connector over real HTTP against the fake, and its pure parts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.connectors import quickbooks_online_records as qbo_records
from creditdesk.web import webhooks
from tests.qbo_fixtures import REALM, FakeQbo


def connector(fake: FakeQbo, page_size: int = 1000) -> qbo.QuickBooksOnline:
    return fake.connector(page_size)


def test_pages_through_memos_sharing_one_last_updated_second(fake_qbo: FakeQbo) -> None:
    ids = {fake_qbo.state.add_memo(REALM, total="1.00") for _ in range(7)}
    batches = list(connector(fake_qbo, page_size=3).fetch({}))
    seen = [r.external_id for b in batches for r in b.records]
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    assert batches[-1].cursor["skip"] == 0 and batches[-1].cursor["cdc_since"]
    queries = [q for q in fake_qbo.state.requests if "/query" in q]
    assert "STARTPOSITION+4" in queries[1] and "MAXRESULTS+3" in queries[1]


def test_cdc_reports_deletions_as_tombstones(fake_qbo: FakeQbo) -> None:
    keep = fake_qbo.state.add_memo(REALM, total="1.00")
    gone = fake_qbo.state.add_memo(REALM, total="1.00")
    c = connector(fake_qbo)
    cursor = list(c.fetch({}))[-1].cursor
    fake_qbo.state.delete_memo(REALM, gone)
    records = [r for b in c.fetch(cursor) for r in b.records]
    assert base.Deleted(gone) in records
    assert {r.external_id for r in records if isinstance(r, base.RemoteMemo)} == {keep}


def test_company_info_gives_the_country(fake_qbo: FakeQbo) -> None:
    assert connector(fake_qbo).company_info()["Country"] == "US"


def test_expired_token_refreshes_once_and_saves_the_rotated_tokens(fake_qbo: FakeQbo) -> None:
    c = connector(fake_qbo)
    fake_qbo.state.inject("expired_token")
    c.company_info()
    assert len(c.saved) == 1 and c.saved[0]["refresh_token"] in fake_qbo.state.refresh


def test_revoked_raises_needs_reconnection(fake_qbo: FakeQbo) -> None:
    c = connector(fake_qbo)
    fake_qbo.state.inject("revoked")
    with pytest.raises(base.NeedsReconnection, match="reconnect"):
        c.company_info()


def test_throttling_that_never_ends_gives_up_as_transient(fake_qbo: FakeQbo) -> None:
    c = connector(fake_qbo)
    fake_qbo.state.inject(*["429"] * 4)
    with pytest.raises(base.Transient, match="429"):
        c.company_info()


@pytest.mark.parametrize("country,region", [("US", "us"), ("CA", "ca"), ("Canada", "ca")])
def test_y1_us_and_canada_accepted(country: str, region: str) -> None:
    assert qbo.region_of(country) == region


@pytest.mark.parametrize("country", ["GB", "AU", "", None])
def test_y1_other_countries_refused_clearly(country: object) -> None:
    with pytest.raises(base.Refused, match="United States and Canada"):
        qbo.region_of(country)


def test_parse_memo_statuses_voids_and_bad_records() -> None:
    raw = {"Id": "1", "TotalAmt": Decimal("250.0"), "RemainingCredit": Decimal("100.0"),
           "CustomerRef": {"value": "58", "name": "Harbor"}, "CurrencyRef": {"value": "CAD"},
           "TxnDate": "2025-03-04", "DocNumber": "CM-1"}
    memo = qbo.parse_memo(raw, "USD")
    assert isinstance(memo, base.RemoteMemo)
    assert (memo.total_minor, memo.remaining_minor, memo.currency) == (25000, 10000, "CAD")
    voided = qbo.parse_memo({**raw, "TotalAmt": 0, "RemainingCredit": 0,
                             "PrivateNote": "Voided"}, "USD")
    assert isinstance(voided, base.RemoteMemo) and voided.voided
    assert isinstance(qbo.parse_memo({**raw, "RemainingCredit": Decimal("300")}, "USD"),
                      base.BadRecord)
    assert isinstance(qbo.parse_memo({**raw, "TotalAmt": Decimal("1.005")}, "USD"),
                      base.BadRecord)  # M1: never rounded
    assert qbo.parse_memo({"Id": "9", "status": "Deleted"}, "USD") == base.Deleted("9")


def test_y7_intuit_signature_matches_published_vectors() -> None:
    assert webhooks.valid_signature("verify_me", b'{"stuff":"5"}',
                                    "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA=")
    body = (b'{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":'
            b'[{"name":"Customer","id":"1","operation":"Create","lastUpdated":'
            b'"2015-10-05T14:42:19-0700"}]}}]}')
    assert webhooks.valid_signature("b5771f19b12ddb4bcdb9f08bdc50bc63878a", body,
                                    "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q=")
    assert not webhooks.valid_signature("verify_me", b'{"stuff":"6"}',
                                        "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA=")
    assert not webhooks.valid_signature("", b"{}", None)


# targeted reads (webhooks) and memo lines ----------------------------------------------------
def test_webhook_targets_from_classic_and_cloudevents_payloads_other_entities_ignored() -> None:
    classic = {"eventNotifications": [
        {"realmId": "9130355", "dataChangeEvent": {"entities": [
            {"name": "CreditMemo", "id": "150", "operation": "Update",
             "lastUpdated": "2025-03-10T16:01:44.000Z"},
            {"name": "CreditMemo", "id": "149", "operation": "Delete",
             "lastUpdated": "2025-03-10T16:02:00.000Z"},
            {"name": "Payment", "id": "77", "operation": "Update"},
            {"name": "CreditMemo", "id": "../companyinfo/1", "operation": "Update"}]}},
        {"realmId": "42", "dataChangeEvent": {"entities": [
            {"name": "Customer", "id": "1", "operation": "Create"}]}}]}
    assert qbo.webhook_targets(classic) == {
        "9130355": {"150": base.CHANGED, "149": base.DELETED}}
    cloud = [{"specversion": "1.0", "type": "qbo.creditmemo.updated.v1",
              "intuitentityid": "150", "intuitaccountid": "9130355", "data": {}},
             {"specversion": "1.0", "type": "qbo.creditmemo.deleted.v1",
              "intuitentityid": "151", "intuitaccountid": "9130355", "data": {}},
             {"specversion": "1.0", "type": "qbo.creditmemo.updated.v1",
              "intuitentityid": "151", "intuitaccountid": "9130355", "data": {}},
             {"specversion": "1.0", "type": "qbo.payment.updated.v1",
              "intuitentityid": "9", "intuitaccountid": "9130355", "data": {}}]
    # a deletion wins over an update of the same memo (a deleted transaction never returns)
    assert qbo.webhook_targets(cloud) == {"9130355": {"150": base.CHANGED,
                                                      "151": base.DELETED}}
    # E3 (issue 10): another shape is refused, saying where (it was read as "nothing")
    for malformed, where in (({"eventNotifications": "x"}, "eventNotifications must be"),
                             ([1, None, {"type": 5}], "[0] must be an object"),
                             ([{"type": 5}], "has no type"), (True, "JSON object")):
        with pytest.raises(base.MalformedWebhook, match=re.escape(where)):
            qbo.webhook_targets(malformed)


def test_targeted_fetch_reads_exactly_the_named_memos_by_id(fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    changed = st.add_memo(REALM, total="30.00", remaining="10.00")
    st.add_memo(REALM, total="99.00")  # not named: never read
    gone = st.add_memo(REALM, total="5.00")
    st.delete_memo(REALM, gone)
    c = connector(fake_qbo)
    st.requests.clear()
    batches = list(c.fetch_targets({changed: base.CHANGED, gone: base.CHANGED,
                                    "555": base.DELETED}))
    records = [r for b in batches for r in b.records]
    assert [type(r).__name__ for r in records] == ["RemoteMemo", "Deleted", "Deleted"]
    assert records[0].external_id == changed and records[0].remaining_minor == 1000
    assert records[1:] == [base.Deleted(gone), base.Deleted("555")]  # 400 fault 610; no read
    assert all(b.cursor is None for b in batches)  # the incremental cursor stays put
    paths = [r.split("?")[0] for r in st.requests]
    # and, since part of its credit is used, its customer's Payments (Y14): none here
    assert paths == [f"GET /v3/company/{REALM}/creditmemo/{changed}",
                     f"GET /v3/company/{REALM}/creditmemo/{gone}",
                     f"GET /v3/company/{REALM}/query"]
    assert records[0].applications == ()


def test_a_read_that_fails_otherwise_is_an_error_not_a_deletion(fake_qbo: FakeQbo) -> None:
    memo = fake_qbo.state.add_memo(REALM, total="1.00")
    c = connector(fake_qbo)
    fake_qbo.state.inject(*["503"] * 4)
    with pytest.raises(base.Transient):
        list(c.fetch_targets({memo: base.CHANGED}))


def test_lines_are_read_exactly_from_sales_item_lines(fake_qbo: FakeQbo) -> None:
    memo = fake_qbo.state.add_memo(REALM, total="130.00", lines=[
        ("Consulting", "1.5", "80", "120.00"), ("Rounded rate", "3", "3.33333", "10.00")])
    (record,) = [r for b in connector(fake_qbo).fetch_targets({memo: base.CHANGED})
                 for r in b.records]
    assert record.lines == (
        base.RemoteLine("Consulting", "1.5", 8000, 12000),
        base.RemoteLine("Rounded rate", "3", None, 1000))  # 3.33333: finer than a cent


def test_parse_lines_groups_subtotals_discounts_and_bad_lines() -> None:
    raw = {"Id": "7", "TotalAmt": Decimal("50.00"), "RemainingCredit": Decimal("50.00"),
           "CustomerRef": {"value": "58"}, "Line": [
               {"Id": "1", "Amount": Decimal("20.00"), "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "3", "name": "Pallet"},
                                        "Qty": Decimal("2"), "UnitPrice": Decimal("10")}},
               {"Id": "2", "DetailType": "GroupLineDetail", "GroupLineDetail": {"Line": [
                   {"Id": "3", "Description": "Kit part", "Amount": Decimal("30.00"),
                    "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {}}]}},
               {"Amount": Decimal("5.00"), "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": {"PercentBased": False}},
               {"Amount": Decimal("50.00"), "DetailType": "SubTotalLineDetail",
                "SubTotalLineDetail": {}}]}
    memo = qbo.parse_memo(raw, "USD")
    assert isinstance(memo, base.RemoteMemo) and memo.line_problem is None
    assert memo.lines == (base.RemoteLine("Pallet", "2", 1000, 2000),
                          base.RemoteLine("Kit part", None, None, 3000))
    assert qbo.parse_memo({**raw, "Line": []}, "USD").lines == ()
    assert qbo.parse_memo({k: v for k, v in raw.items() if k != "Line"}, "USD").lines is None
    bad = qbo.parse_memo({**raw, "Line": [{**raw["Line"][0], "Amount": Decimal("1.005")}]},
                         "USD")
    # M1: an inexact line amount is never rounded; the memo still lands, its lines do not
    assert isinstance(bad, base.RemoteMemo) and bad.lines is None
    assert "line 1 Amount" in (bad.line_problem or "")
    floaty = qbo.parse_memo({**raw, "Line": [{**raw["Line"][0], "Amount": 20.0}]}, "USD")
    assert floaty.lines is None and "float" in (floaty.line_problem or "")


# deletions older than CDC's reach ------------------------------------------------------------
def test_fake_cdc_refuses_a_checkpoint_beyond_30_days_and_the_connector_asks_to_reconcile(
        fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="1.00")
    c = connector(fake_qbo)
    cursor = list(c.fetch({}))[-1].cursor
    fake_qbo.state.travel(days=31)
    answer = fake_qbo.client.get(
        f"{fake_qbo.base_url}/v3/company/{REALM}/cdc",
        params={"entities": "CreditMemo", "changedSince": cursor["cdc_since"]},
        headers={"Authorization": f"Bearer {c.tokens['access_token']}"})
    assert answer.status_code == 400 and "older than fixed days" in answer.text
    with pytest.raises(base.ReconcileNeeded, match="no longer reaches back"):
        list(c.fetch(cursor))


def test_reconcile_is_due_past_cdc_reach_or_without_a_checkpoint_while_memos_are_held(
        fake_qbo: FakeQbo) -> None:
    c = connector(fake_qbo)
    now = datetime.now(UTC)
    recent = {"cdc_since": (now - timedelta(days=28)).isoformat()}
    stale = {"cdc_since": (now - timedelta(days=29, hours=1)).astimezone(
        timezone(timedelta(hours=-8))).isoformat(timespec="seconds")}
    assert not c.reconcile_due(recent, now=now, has_memos=True)
    assert c.reconcile_due(stale, now=now, has_memos=False)
    assert c.reconcile_due({}, now=now, has_memos=True)
    assert not c.reconcile_due({}, now=now, has_memos=False)  # the first read sets CDC's start


def test_reconcile_lists_every_id_in_pages_then_confirms_the_missing(fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    ids = [st.add_memo(REALM, total="1.00") for _ in range(5)]
    st.delete_memo(REALM, ids[1])
    c = connector(fake_qbo, page_size=2)
    st.requests.clear()
    outcome = c.reconcile({"since": "x", "cdc_since": "old"}, {*ids, "999"},
                          now=datetime.now(UTC))
    assert outcome.gone == {ids[1], "999"}
    assert outcome.cursor["since"] == "x" and outcome.cursor["cdc_since"] != "old"
    assert datetime.fromisoformat(outcome.cursor["cdc_since"]) <= st.now()
    queries = [unquote_plus(r.split("query=")[1].split("&")[0]) for r in st.requests]
    assert queries == [
        f"SELECT Id FROM CreditMemo ORDERBY MetaData.CreateTime STARTPOSITION {n} MAXRESULTS 2"
        for n in (1, 3, 5)] + [
        f"SELECT Id FROM CreditMemo WHERE Id IN ('{ids[1]}', '999') MAXRESULTS 100"]


def test_reconcile_keeps_a_memo_a_shifting_listing_skipped(fake_qbo: FakeQbo) -> None:
    """A deletion between two pages shifts the later memos one position back, so one of them
    is never listed: the IN query finds it and it is kept. The memo deleted mid-listing was
    listed already; CDC, restarting from the listing's start, reports it."""
    st = fake_qbo.state
    ids = [st.add_memo(REALM, total="1.00") for _ in range(5)]
    earlier = st.add_memo(REALM, total="1.00")
    st.delete_memo(REALM, earlier)
    c = connector(fake_qbo, page_size=2)

    def delete_after_first_page(response: httpx.Response) -> None:
        if "STARTPOSITION+1+" in str(response.request.url) and ids[0] in st.companies[
                REALM].memos:
            st.delete_memo(REALM, ids[0])

    fake_qbo.client.event_hooks["response"] = [delete_after_first_page]
    try:
        outcome = c.reconcile({}, {*ids, earlier}, now=datetime.now(UTC))
    finally:
        fake_qbo.client.event_hooks["response"] = []
    assert ids[0] not in st.companies[REALM].memos  # the hook ran
    assert outcome.gone == {earlier}
    assert any("Id+IN" in r and f"%27{ids[2]}%27" in r for r in st.requests)  # checked, kept
    tombstones = [r for b in c.fetch(outcome.cursor) for r in b.records
                  if isinstance(r, base.Deleted)]
    assert base.Deleted(ids[0]) in tombstones


def test_reconcile_with_nothing_held_only_restarts_cdc(fake_qbo: FakeQbo) -> None:
    c = connector(fake_qbo)
    fake_qbo.state.requests.clear()
    outcome = c.reconcile({"since": "x", "cdc_since": "old"}, set(), now=datetime.now(UTC))
    assert outcome == base.Reconciliation(frozenset(), {"since": "x"})
    assert fake_qbo.state.requests == []


def test_an_unreadable_listing_page_is_an_error_never_an_empty_company(
        fake_qbo: FakeQbo) -> None:
    with pytest.raises(base.ConnectorError, match="malformed"):
        qbo.QuickBooksOnline._ids({"time": "now"})
    with pytest.raises(base.ConnectorError, match="malformed"):
        qbo.QuickBooksOnline._ids({"QueryResponse": {"CreditMemo": [{"DocNumber": "1"}]}})
    assert qbo.QuickBooksOnline._ids({"QueryResponse": {}}) == []


def test_y14_payments_say_how_each_memos_credit_was_applied() -> None:
    """A $0 Payment (ours, or made in QuickBooks) is one application named by its Id; a
    Payment crediting several invoices gives the credit in line order, each up to its line,
    named Id/invoice; other memos' and cash-only Payments are not the memo's."""
    def pay(pid: str, *lines: tuple[str, str, str], total: str = "0") -> dict[str, Any]:
        return {"Id": pid, "TotalAmt": total, "CurrencyRef": {"value": "USD"},
                "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": ext, "TxnType": kind}]}
                         for kind, ext, amount in lines]}
    got = qbo_records.payment_applications([
        pay("311", ("Invoice", "130", "25.00"), ("CreditMemo", "150", "25.00")),
        pay("312", ("Invoice", "131", "30.00"), ("Invoice", "132", "50.00"),
            ("CreditMemo", "150", "40.00"), total="40.00"),
        pay("313", ("Invoice", "133", "10.00"), ("CreditMemo", "999", "10.00")),
        pay("314", ("Invoice", "134", "70.00"), total="70.00")], {"150", "151"}, "USD")
    assert got == {"150": [base.RemoteApplication("311", "130", 2500),
                           base.RemoteApplication("312/131", "131", 3000),
                           base.RemoteApplication("312/132", "132", 1000)],
                   "151": []}
    with pytest.raises(ValueError):  # nothing reconciled from a Payment that can't be read
        qbo_records.payment_applications(
            [pay("315", ("CreditMemo", "150", "1.005"))], {"150"}, "USD")
