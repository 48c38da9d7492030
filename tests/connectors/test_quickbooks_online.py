"""The QuickBooks Online connector over real HTTP against the fake, and its pure parts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.web import webhooks
from tests.qbo_fixtures import REALM, FakeQbo


def connector(fake: FakeQbo, page_size: int = 1000) -> qbo.QuickBooksOnline:
    code = fake.state.grant(REALM)
    tokens = qbo.exchange_code(fake.client, fake.settings, code, fake.retry())
    saved: list[dict] = []
    c = qbo.QuickBooksOnline(fake.client, fake.settings, realm_id=REALM, tokens=tokens,
                             save_tokens=saved.append, retry=fake.retry(), page_size=page_size)
    c.saved = saved  # type: ignore[attr-defined]
    return c


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
