"""The Xero connector over real HTTP against the fake Xero, and its pure parts (Y1, Y4-Y7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from creditdesk.connectors import base, xero
from creditdesk.connectors import xero_records as records
from creditdesk.web import webhooks
from tests.xero_fixtures import TENANT, FakeXero


def connector(fake: FakeXero, page_size: int = 100) -> xero.Xero:
    return fake.connector(page_size)


def notes_requests(fake: FakeXero) -> list[str]:
    return [r for r in fake.state.requests if "/CreditNotes" in r]


def test_y6_pages_with_page_n_and_if_modified_since(fake_xero: FakeXero) -> None:
    ids = {fake_xero.state.add_credit_note(TENANT, total="1.00") for _ in range(7)}
    batches = list(connector(fake_xero, page_size=3).fetch({}))
    seen = {r.external_id for b in batches for r in b.records}
    assert seen == ids
    sent = notes_requests(fake_xero)
    assert "page=1" in sent[0] and "pageSize=3" in sent[0]
    assert "UpdatedDateUTC+ASC" in sent[0] and "ACCRECCREDIT" in sent[0]
    assert sent[0].endswith("If-Modified-Since: None")
    assert all("If-Modified-Since: 20" in s for s in sent[1:])  # keyset: since moves on
    assert batches[-1].cursor["page"] == 1 and batches[-1].cursor["since"]


def test_y6_a_page_sharing_one_timestamp_moves_on_with_page_n(fake_xero: FakeXero) -> None:
    fake_xero.state.frozen = datetime(2025, 3, 6, tzinfo=UTC)
    ids = {fake_xero.state.add_credit_note(TENANT, total="1.00") for _ in range(7)}
    batches = list(connector(fake_xero, page_size=3).fetch({}))
    assert {r.external_id for b in batches for r in b.records} == ids
    sent = notes_requests(fake_xero)
    assert any("page=2" in s for s in sent) and any("page=3" in s for s in sent)
    assert len(sent) <= 5  # no loop over the same page


def test_y6_incremental_reads_only_what_changed(fake_xero: FakeXero) -> None:
    st = fake_xero.state
    st.frozen = datetime(2025, 3, 5, 23, tzinfo=UTC)
    b = st.add_credit_note(TENANT, total="9.00")
    st.frozen = datetime(2025, 3, 6, tzinfo=UTC)
    a = st.add_credit_note(TENANT, total="10.00")
    c = connector(fake_xero)
    cursor = list(c.fetch({}))[-1].cursor
    st.frozen = None
    st.allocate(TENANT, a, "4.00")
    records_ = [r for batch in c.fetch(cursor) for r in batch.records]
    assert [(r.external_id, r.remaining_minor) for r in records_
            if isinstance(r, base.RemoteMemo)] == [(a, 600)]
    assert b not in {r.external_id for r in records_}
    sent_since = notes_requests(fake_xero)[-1].split("If-Modified-Since: ")[1]
    assert sent_since.startswith("2025-03-05T23:59:55")  # the newest seen, less 5 s overlap


def test_y4_statuses_from_the_wire(fake_xero: FakeXero) -> None:
    st = fake_xero.state
    full = st.add_credit_note(TENANT, total="250.00", number="CN-0042")
    part = st.add_credit_note(TENANT, total="100.00")
    st.allocate(TENANT, part, "60.00")
    paid = st.add_credit_note(TENANT, total="80.00")
    st.allocate(TENANT, paid, "80.00")
    void = st.add_credit_note(TENANT, total="30.00")
    st.void(TENANT, void)
    draft = st.add_credit_note(TENANT, total="5.00", status="DRAFT")
    gone = st.add_credit_note(TENANT, total="5.00", status="DRAFT")
    st.delete(TENANT, gone)
    supplier = st.add_credit_note(TENANT, total="5.00", kind="ACCPAYCREDIT")
    got = {r.external_id: r for b in connector(fake_xero).fetch({}) for r in b.records}
    assert supplier not in got and draft not in got
    assert got[gone] == base.Deleted(gone)
    f = got[full]
    assert isinstance(f, base.RemoteMemo)
    assert (f.number, f.total_minor, f.remaining_minor, f.currency, f.issue_date) == (
        "CN-0042", 25000, 25000, "USD", date(2025, 3, 4))
    assert f.customer_external_id == "a1f0c2d4-1111-4222-8333-944455556666"
    assert (got[part].remaining_minor, got[paid].remaining_minor) == (4000, 0)  # type: ignore[union-attr]
    v = got[void]
    assert isinstance(v, base.RemoteMemo) and v.voided and v.remaining_minor == 0


def test_y1_organisation_country_comes_from_the_organisation_endpoint(
        fake_xero: FakeXero) -> None:
    assert connector(fake_xero).organisation()["CountryCode"] == "US"
    assert xero.check_country({"CountryCode": "US"}) == "us"
    for country in ("GB", "NZ", "AU", "", None):
        with pytest.raises(base.Refused, match="United States only"):
            xero.check_country({"CountryCode": country})


def test_connect_picks_the_tenant_of_this_authorization(fake_xero: FakeXero) -> None:
    fake_xero.state.add_org("other-tenant", "Other Books", "US")
    fake_xero.state.grant(["other-tenant"])  # connected earlier
    code = fake_xero.state.grant([TENANT])
    tokens, info = xero.connect(fake_xero.client, fake_xero.settings, code, fake_xero.retry())
    assert info["tenantId"] == TENANT and info["Name"] == "Harbor Books"
    assert tokens["refresh_token"] in fake_xero.state.refresh


def test_y7_expired_token_refreshes_once_and_saves_the_rotated_tokens(
        fake_xero: FakeXero) -> None:
    c = connector(fake_xero)
    old_refresh = c.tokens["refresh_token"]
    fake_xero.state.inject("expired_token")
    c.organisation()
    assert len(c.saved) == 1 and c.saved[0]["refresh_token"] != old_refresh
    assert fake_xero.state.refresh[old_refresh][1] is not None  # old one: grace period only


def test_rotated_refresh_token_has_a_grace_period_then_dies(fake_xero: FakeXero) -> None:
    c = connector(fake_xero)
    old = c.tokens["refresh_token"]
    fake_xero.state.inject("expired_token")
    c.organisation()
    c.tokens["refresh_token"] = old  # the rotated answer was "lost": the old one still works
    c.tokens["access_expires_at"] = 0
    c.organisation()
    fake_xero.state.refresh[old] = (fake_xero.state.refresh[old][0],
                                    datetime.now(UTC) - timedelta(seconds=1))
    c.tokens["refresh_token"], c.tokens["access_expires_at"] = old, 0
    with pytest.raises(base.NeedsReconnection, match="reconnect"):
        c.organisation()


def test_revoked_raises_needs_reconnection(fake_xero: FakeXero) -> None:
    c = connector(fake_xero)
    fake_xero.state.inject("revoked")
    with pytest.raises(base.NeedsReconnection, match="reconnect"):
        c.organisation()


def test_429_honours_retry_after(fake_xero: FakeXero) -> None:
    c = connector(fake_xero)
    fake_xero.state.retry_after = "3"
    fake_xero.state.inject("429")
    c.organisation()
    assert fake_xero.sleeps == [3.0]


def test_daily_limit_gives_up_at_once_as_transient(fake_xero: FakeXero) -> None:
    c = connector(fake_xero)
    fake_xero.state.inject("429_day")
    with pytest.raises(base.Transient, match="daily API limit"):
        c.organisation()
    assert fake_xero.sleeps == []


@pytest.mark.parametrize("fault", ["500", "503", "timeout"])
def test_5xx_and_timeouts_are_retried(fake_xero: FakeXero, fault: str) -> None:
    c = connector(fake_xero)
    fake_xero.state.inject(fault)
    assert c.organisation()["Name"] == "Harbor Books"
    assert len(fake_xero.sleeps) == 1


def test_throttling_that_never_ends_gives_up_as_transient(fake_xero: FakeXero) -> None:
    c = connector(fake_xero)
    fake_xero.state.inject(*["429"] * 4)
    with pytest.raises(base.Transient, match="429"):
        c.organisation()


def test_fake_enforces_the_minute_limit_with_xero_headers(fake_xero: FakeXero) -> None:
    c = connector(fake_xero)
    fake_xero.state.minute_limit = 2
    tokens = c.tokens["access_token"]
    url = f"{fake_xero.base_url}/api.xro/2.0/Organisation"
    headers = {"Authorization": f"Bearer {tokens}", "xero-tenant-id": TENANT,
               "Accept": "application/json"}
    answers = [fake_xero.client.get(url, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["X-MinLimit-Remaining"] == "1"
    assert answers[2].headers["X-Rate-Limit-Problem"] == "minute"
    assert int(answers[2].headers["Retry-After"]) > 0
    no_tenant = fake_xero.client.get(url, headers={"Authorization": f"Bearer {tokens}"})
    assert no_tenant.status_code == 403


def test_fake_accepts_rfc1123_if_modified_since_and_refuses_bad_where(
        fake_xero: FakeXero) -> None:
    c = connector(fake_xero)
    fake_xero.state.add_credit_note(TENANT, total="1.00")
    url = f"{fake_xero.base_url}/api.xro/2.0/CreditNotes"
    headers = {"Authorization": f"Bearer {c.tokens['access_token']}", "xero-tenant-id": TENANT}
    old = fake_xero.client.get(url, params={"page": "1"}, headers={
        **headers, "If-Modified-Since": "Mon, 10 Mar 2025 08:00:00 GMT"}).json()
    assert old["pagination"]["itemCount"] == 1 and old["Status"] == "OK"
    future = fake_xero.client.get(url, headers={
        **headers, "If-Modified-Since": "2999-01-01T00:00:00.000-08:00"}).json()
    assert future["CreditNotes"] == []
    bad = fake_xero.client.get(url, params={"where": "Total>5"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["Type"] == "ValidationException"


def test_xero_dates_both_formats() -> None:
    assert records.parse_datetime("/Date(1700000000000+0000)/") == datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert records.parse_datetime("/Date(1573755038314)/").year == 2019
    assert records.parse_datetime("/Date(1551744000000-0800)/") == datetime(
        2019, 3, 5, tzinfo=UTC)  # the offset is cosmetic
    assert records.parse_date("2019-03-05T00:00:00") == date(2019, 3, 5)
    assert records.parse_datetime("2019-03-05T18:59:06Z") == datetime(
        2019, 3, 5, 18, 59, 6, tzinfo=UTC)
    with pytest.raises(ValueError):
        records.parse_datetime("yesterday")


def test_y4_y5_parse_credit_note_and_bad_records() -> None:
    raw = {"CreditNoteID": "n1", "Type": "ACCRECCREDIT", "Status": "AUTHORISED",
           "CreditNoteNumber": "CN-1", "Contact": {"ContactID": "c1", "Name": "Harbor"},
           "Date": "2025-03-04T00:00:00", "Total": Decimal("250.00"),
           "RemainingCredit": Decimal("100.00"), "CurrencyCode": "USD"}
    memo = records.parse_credit_note(raw)
    assert isinstance(memo, base.RemoteMemo)
    assert (memo.customer_external_id, memo.customer_name, memo.remaining_minor,
            memo.issue_date) == ("c1", "Harbor", 10000, date(2025, 3, 4))
    voided = records.parse_credit_note({**raw, "Status": "VOIDED"})
    assert isinstance(voided, base.RemoteMemo) and voided.voided and voided.remaining_minor == 0
    assert records.parse_credit_note({**raw, "Status": "DELETED"}) == base.Deleted("n1")
    assert records.parse_credit_note({**raw, "Status": "DRAFT"}) is None
    for broken in ({**raw, "RemainingCredit": Decimal("300")},
                   {**raw, "Total": Decimal("1.005")}, {**raw, "Contact": {}},
                   {**raw, "Total": "twelve"}, {**raw, "Date": "/Date(abc)/"}):
        bad = records.parse_credit_note(broken)
        assert isinstance(bad, base.BadRecord) and bad.external_id == "n1"
    assert isinstance(records.parse_credit_note({"Type": "ACCRECCREDIT"}), base.BadRecord)


def test_y7_xero_signature_vector() -> None:
    body = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
    assert webhooks.valid_signature("test-webhook-key", body,
                                    "qAYGQdoiCV3g0uAzbvP5M/6dDgNoDUK8EQfOLs1aIws=")
    assert not webhooks.valid_signature("other-key", body,
                                        "qAYGQdoiCV3g0uAzbvP5M/6dDgNoDUK8EQfOLs1aIws=")


# targeted reads (webhooks) and memo lines ----------------------------------------------------
NOTE_A = "5b1e0f2a-7d7c-4a51-8a3e-6c0b0d2c9e10"
NOTE_B = "9e2d0f2a-7d7c-4a51-8a3e-6c0b0d2c9e11"


def test_webhook_targets_customer_credit_notes_and_no_other_category() -> None:
    def event(note: str, category: str = "CREDITNOTE", kind: str | None = "ACCRECCREDIT",
              tenant: str = TENANT) -> dict:
        found = {"resourceUrl": f"https://api.xero.com/api.xro/2.0/CreditNotes/{note}",
                 "resourceId": note, "tenantId": tenant, "tenantType": "ORGANISATION",
                 "eventCategory": category, "eventType": "UPDATE",
                 "eventDateUtc": "2025-03-06T00:01:00.123"}
        if kind is not None:
            found["data"] = {"Type": kind, "Status": "PAID"}
        return found

    payload = {"events": [event(NOTE_A), event(NOTE_B, kind=None),
                          event("6b1e0f2a-7d7c-4a51-8a3e-6c0b0d2c9e12", kind="ACCPAYCREDIT"),
                          event("7b1e0f2a-7d7c-4a51-8a3e-6c0b0d2c9e13", category="CONTACT"),
                          event("../Organisation"),
                          event(NOTE_A, tenant="other-tenant")],
               "firstEventSequence": 1, "lastEventSequence": 6, "entropy": "X"}
    assert records.webhook_targets(payload) == {
        TENANT: {NOTE_A: base.CHANGED, NOTE_B: base.CHANGED},
        "other-tenant": {NOTE_A: base.CHANGED}}
    assert records.webhook_targets({"events": [], "firstEventSequence": 0}) == {}
    for malformed in ({"events": "x"}, {"events": [5]}, {}, [], None):  # E3 (issue 10)
        with pytest.raises(base.MalformedWebhook):
            records.webhook_targets(malformed)


def test_targeted_fetch_reads_each_note_by_id_and_404_is_a_deletion(
        fake_xero: FakeXero) -> None:
    st = fake_xero.state
    note = st.add_credit_note(TENANT, total="40.00", remaining="15.00", lines=[
        ("Returned pallets", "2.5", "10.00", "25.00"), ("Freight", None, None, "15.00")])
    supplier = st.add_credit_note(TENANT, total="9.00", kind="ACCPAYCREDIT")
    c = connector(fake_xero)
    st.requests.clear()
    gone = "00000000-0000-4000-8000-000000000000"
    found = [r for b in c.fetch_targets({note: base.CHANGED, supplier: base.CHANGED,
                                         gone: base.CHANGED}) for r in b.records]
    assert [type(r).__name__ for r in found] == ["RemoteMemo", "Deleted"]
    memo = found[0]
    assert (memo.external_id, memo.remaining_minor) == (note, 1500)
    assert memo.lines == (base.RemoteLine("Returned pallets", "2.5", 1000, 2500),
                          base.RemoteLine("Freight", None, None, 1500))
    assert found[1] == base.Deleted(gone)
    assert [r.split("?")[0] for r in notes_requests(fake_xero)] == [
        f"GET /api.xro/2.0/CreditNotes/{n}" for n in (note, supplier, gone)]


def test_line_items_parse_exactly_and_an_unpaged_listing_keeps_stored_lines() -> None:
    raw = {"CreditNoteID": NOTE_A, "Type": "ACCRECCREDIT", "Status": "AUTHORISED",
           "Contact": {"ContactID": "c1", "Name": "Harbor"}, "CurrencyCode": "USD",
           "Total": Decimal("250.00"), "RemainingCredit": Decimal("250.00"),
           "LineItems": [{"Description": "Pallet return", "Quantity": Decimal("1.0000"),
                          "UnitAmount": Decimal("250.00"), "LineAmount": Decimal("250.00")},
                         {"Description": "Note only"}]}
    memo = records.parse_credit_note(raw)
    assert isinstance(memo, base.RemoteMemo)
    assert memo.lines == (base.RemoteLine("Pallet return", "1", 25000, 25000),
                          base.RemoteLine("Note only", None, None, 0))
    assert records.parse_credit_note({**raw, "LineItems": []}).lines is None  # [S] unpaged
    bad = records.parse_credit_note({**raw, "LineItems": [{"LineAmount": "x", "Quantity": 1}]})
    assert isinstance(bad, base.RemoteMemo) and bad.lines is None and bad.line_problem
