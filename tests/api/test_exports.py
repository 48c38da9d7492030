"""D3 over HTTP: the CSV exports of memos (with the list's filters), applications and
refunds, and the credit aging report (JSON and CSV); other partners' rows never appear."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import event, update

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.common.context import clock
from creditdesk.services.read_models import exports
from tests.api.conftest import API, apply, customer, invoice, memo, ok, problem

MEMO_HEADER = ("number,customer,customer_id,currency,reason,status,issue_date,total,"
               "applied_amount,refunded_amount,remaining_amount,source,external_id,"
               "invoice_number")


def rows(r) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(r.text)))


def _set(db: Database, memo_id: str, **values: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(models.CreditMemo).where(models.CreditMemo.id == memo_id)
                     .values(**values))


def test_d3_memo_export_header_and_plain_decimal_amounts(client):
    cid = customer(client, "Globex")
    inv = invoice(client, cid, "2000.00")
    m = memo(client, cid, "1234.50", invoice_id=inv["id"])
    apply(client, m["id"], inv["id"], "34.50")
    jp = customer(client, "Nihon KK", "JPY")
    memo(client, jp, "1500", currency="JPY")
    kw = customer(client, "Kuwait Co", "KWD")
    memo(client, kw, "1.005", currency="KWD")
    r = client.get(f"{API}/credit-memos/export")
    assert r.text.splitlines()[0] == MEMO_HEADER
    got = {row["number"]: row for row in rows(r)}
    row = got[m["number"]]
    assert (row["total"], row["applied_amount"], row["refunded_amount"],
            row["remaining_amount"]) == ("1234.50", "34.50", "0.00", "1200.00")
    assert row["customer"] == "Globex" and row["customer_id"] == cid
    assert row["invoice_number"] == inv["number"] and row["source"] == "native"
    assert row["status"] == "partially_applied" and row["issue_date"] == m["issue_date"]
    assert {r["currency"]: r["total"] for r in got.values()} == {
        "USD": "1234.50", "JPY": "1500", "KWD": "1.005"}


def test_d3_memo_export_takes_the_lists_filters(client):
    a, b = customer(client, "Alpha"), customer(client, "Beta")
    issued = memo(client, a, "10.00")
    draft = memo(client, a, "20.00", issue=False)
    other = memo(client, b, "30.00")
    listed = ok(client.get(f"{API}/credit-memos", params={"customer_id": a,
                                                          "status": "issued"}))
    got = rows(client.get(f"{API}/credit-memos/export",
                          params={"customer_id": a, "status": "issued"}))
    assert [r["number"] for r in got] == [m["number"] for m in listed["data"]] == [
        issued["number"]]
    got = rows(client.get(f"{API}/credit-memos/export", params={"has_remaining": "true"}))
    assert {r["number"] for r in got} == {issued["number"], other["number"]}
    got = rows(client.get(f"{API}/credit-memos/export",
                          params={"status": ["draft", "issued"], "customer_id": a}))
    assert {r["number"] for r in got} == {issued["number"], draft["number"]}
    got = rows(client.get(f"{API}/credit-memos/export", params={"q": draft["number"][-4:]}))
    assert [r["number"] for r in got] == [draft["number"]]


def test_d3_memo_export_refuses_bad_filters_as_the_list_does(client):
    for params, field in (({"status": "nope"}, "status"), ({"source": "sap"}, "source"),
                          ({"has_remaining": "maybe"}, "has_remaining"),
                          ({"q": "x" * 61}, "q")):
        listed = client.get(f"{API}/credit-memos", params=params)
        exported = client.get(f"{API}/credit-memos/export", params=params)
        assert exported.status_code == listed.status_code == 422, (params, exported.text)
        problem(exported, 422, listed.json()["code"], field)


def test_d3_csv_formula_injection_is_neutralised(client):
    cid = customer(client, "=HYPERLINK(\"http://evil\")")
    memo(client, cid, "5.00")
    for name in ("+1", "-2", "@SUM(A1)"):
        memo(client, customer(client, name), "1.00")
    names = {r["customer"] for r in rows(client.get(f"{API}/credit-memos/export"))}
    assert names == {"'=HYPERLINK(\"http://evil\")", "'+1", "'-2", "'@SUM(A1)"}


def test_d3_exports_are_streamed_in_keyset_pages(client, db, monkeypatch):
    """The answer is written page by page: with a page of 2 rows, 5 memos take 3 reads of
    credit_memos (and a fourth finds nothing only when the last page is full)."""
    cid = customer(client)
    made = [memo(client, cid, f"{i}.00")["number"] for i in range(1, 6)]
    monkeypatch.setattr(exports, "PAGE_SIZE", 2)
    seen: list[str] = []

    def grab(_conn, _cur, statement, _params, _ctx, _many) -> None:
        if "FROM credit_memos" in statement and "ORDER BY credit_memos.id DESC" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        with client.stream("GET", f"{API}/credit-memos/export") as r:
            chunks = [c for c in r.iter_raw() if c]
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    text = b"".join(chunks).decode()
    assert [row["number"] for row in csv.DictReader(io.StringIO(text))] == made[::-1]
    assert len(seen) == 3 and all("LIMIT" in s for s in seen)
    assert len(chunks) >= 2  # not one body built whole: the header, then a chunk a page
    assert sum("credit_memos.id <" in s for s in seen) == 2


def test_d3_application_and_refund_exports(client):
    cid = customer(client, "Globex")
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    apply(client, m["id"], inv["id"], "25.00")
    refund = ok(client.post(f"{API}/credit-memos/{m['id']}/refunds",
                            json={"amount": "10.00", "method": "check",
                                  "reference": "=cmd"}), 201)
    got = rows(client.get(f"{API}/applications/export"))
    assert len(got) == 1
    assert got[0]["credit_memo_number"] == m["number"]
    assert got[0]["invoice_number"] == inv["number"]
    assert (got[0]["amount"], got[0]["currency"], got[0]["customer"]) == (
        "25.00", "USD", "Globex")
    got = rows(client.get(f"{API}/refunds/export"))
    assert len(got) == 1
    assert got[0]["id"] == refund["refund"]["id"]
    assert (got[0]["amount"], got[0]["method"], got[0]["status"], got[0]["reference"]) == (
        "10.00", "check", "refunded", "'=cmd")
    other = customer(client, "Initech")
    assert rows(client.get(f"{API}/applications/export", params={"customer_id": other})) == []
    assert rows(client.get(f"{API}/refunds/export", params={"customer_id": other})) == []


def test_d3_exports_and_aging_are_the_partners_own(client, other_client):
    cid = customer(client, "Globex")
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    apply(client, m["id"], inv["id"], "25.00")
    ok(client.post(f"{API}/credit-memos/{m['id']}/refunds",
                   json={"amount": "10.00", "method": "check"}), 201)
    for path in ("/credit-memos/export", "/applications/export", "/refunds/export"):
        assert len(rows(client.get(API + path))) == 1
        assert rows(other_client.get(API + path)) == []
        assert rows(other_client.get(API + path, params={"customer_id": cid})) == []
    assert ok(other_client.get(f"{API}/reports/credit-aging"))["rows"] == []
    assert len(ok(client.get(f"{API}/reports/credit-aging"))["rows"]) == 1


def test_d3_credit_aging_buckets_by_whole_days_since_issue(client, db):
    today = clock.today()
    cid = customer(client)
    ages = {0: "1.00", 30: "2.00", 31: "4.00", 60: "8.00", 61: "16.00", 90: "32.00",
            91: "64.00", 400: "128.00"}
    for age, amount in ages.items():
        m = memo(client, cid, amount)
        _set(db, m["id"], issue_date=today - timedelta(days=age))
    voided = memo(client, cid, "1000.00")
    ok(client.post(f"{API}/credit-memos/{voided['id']}/void", json={"reason": "typo"}))
    memo(client, cid, "2000.00", issue=False)  # a draft has no credit yet
    report = ok(client.get(f"{API}/reports/credit-aging"))
    assert report["as_of"] == today.isoformat()
    assert report["rows"] == [{"currency": "USD", "reason": "goodwill",
                               "days_0_30": "3.00", "days_31_60": "12.00",
                               "days_61_90": "48.00", "days_over_90": "192.00",
                               "total": "255.00"}]
    # as_of moves the day ages are counted to; memos issued after it are left out
    earlier = today - timedelta(days=31)
    report = ok(client.get(f"{API}/reports/credit-aging", params={"as_of": earlier.isoformat()}))
    # ages 0 and 30 are after it; 31, 60, 61 are 0, 29, 30; 90, 91 are 59, 60; 400 is 369
    assert report["rows"] == [{"currency": "USD", "reason": "goodwill",
                               "days_0_30": "28.00", "days_31_60": "96.00",
                               "days_61_90": "0.00", "days_over_90": "128.00",
                               "total": "252.00"}]
    assert report["as_of"] == earlier.isoformat()


def test_d3_credit_aging_counts_remaining_credit_of_synced_memos_per_currency(client, db):
    today = clock.today()
    us, eu = customer(client, "Globex"), customer(client, "Euro GmbH", "EUR")
    inv = invoice(client, us, "100.00")
    partly = memo(client, us, "50.00", reason="pricing_error")
    apply(client, partly["id"], inv["id"], "20.00")
    synced = memo(client, eu, "70.00", currency="EUR")
    _set(db, synced["id"], source="xero", external_id="XERO-CN-1",
         issue_date=today - timedelta(days=45))
    report = ok(client.get(f"{API}/reports/credit-aging"))
    assert [(r["currency"], r["reason"], r["days_0_30"], r["days_31_60"], r["total"])
            for r in report["rows"]] == [("EUR", "goodwill", "0.00", "70.00", "70.00"),
                                         ("USD", "pricing_error", "30.00", "0.00", "30.00")]
    only = ok(client.get(f"{API}/reports/credit-aging", params={"currency": "EUR"}))
    assert [r["currency"] for r in only["rows"]] == ["EUR"]
    r = client.get(f"{API}/reports/credit-aging", params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0] == "as_of,currency,reason,days_0_30,days_31_60,days_61_90,days_over_90,total"
    assert lines[1] == f"{today.isoformat()},EUR,goodwill,0.00,70.00,0.00,0.00,70.00"


def test_d3_credit_aging_refuses_bad_parameters(client):
    problem(client.get(f"{API}/reports/credit-aging", params={"currency": "XXX"}), 422,
            "validation_error", "currency")
    r = client.get(f"{API}/reports/credit-aging", params={"as_of": "yesterday"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(
        "application/problem+json")
    problem(client.get(f"{API}/reports/credit-aging", params={"format": "xml"}), 422,
            "validation_error", "format")
