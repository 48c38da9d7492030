"""G5 as pure rules: merged downtime, month splits, strict bands, exact amounts, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from creditdesk.domain import errors
from creditdesk.domain.suggestions import History, InvoiceData, LineData, MemoData, sla
from creditdesk.domain.suggestions import service_issue as si

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
MARCH_US = 31 * 24 * 3600 * 1_000_000
POLICY = sla.Policy(None, 999_000, (sla.Band(999_000, 100_000), sla.Band(990_000, 250_000)))


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def incident(iid: str, start: datetime, end: datetime, *, customers: tuple[str, ...] = (),
             variants: tuple[str, ...] = ()) -> sla.Incident:
    return sla.Incident(iid, start, end, f"outage {iid}", frozenset(customers),
                       frozenset(variants))


def history(*invoices: InvoiceData, memos: tuple[MemoData, ...] = ()) -> History:
    return History("cus_1", invoices, memos)


def invoice(iid: str, day: date, amount: int = 20_000, variant: str = "var_pro",
            total: int | None = None) -> InvoiceData:
    line = LineData(f"{iid}-l1", "Pro plan", 1, amount, amount, variant)
    return InvoiceData(iid, f"INV-{iid}", day, "USD", total or amount, (line,))


def test_g5_overlapping_incidents_count_once() -> None:
    a = incident("a", at(3, 10), at(3, 12))
    b = incident("b", at(3, 11), at(3, 13))  # overlaps a by an hour
    c = incident("c", at(3, 13), at(3, 14))  # touches b's end: no gap, no double count
    assert si.downtime([a, b, c], MARCH, APRIL) == 4 * 3600 * 1_000_000
    assert si.downtime([a, a], MARCH, APRIL) == 2 * 3600 * 1_000_000


def test_g5_an_incident_spanning_months_is_split_between_them() -> None:
    x = incident("x", at(31, 22), at(1, 3, month=4))
    assert si.downtime([x], MARCH, APRIL) == 2 * 3600 * 1_000_000
    assert si.downtime([x], APRIL, si.next_month(APRIL)) == 3 * 3600 * 1_000_000
    found = si.suggest(history(invoice("m", date(2026, 3, 5)), invoice("n", date(2026, 4, 5))),
                       [incident("x", at(31, 12), at(1, 12, month=4))], [
                           sla.Policy(None, 999_900, (sla.Band(999_900, 50_000),))])
    # 12 h of March's 744 h and 12 h of April's 720 h: each month owes on its own invoice
    assert [(s.invoice_id, s.amount_minor) for s in found] == [("m", 1000), ("n", 1000)]


def test_g5_band_edge_at_exactly_the_threshold_owes_nothing() -> None:
    # 0.1 % of a 30-day month is 43 min 12 s: exactly 99.9 % is not "below 99.9 %"
    june, july = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    edge = june + timedelta(days=2)
    exact = incident("e", edge, edge + timedelta(minutes=43, seconds=12))
    avail = si.availability(si.downtime([exact], june, july), june, july)
    assert avail == Fraction(999, 1000)
    assert si.band_for(avail, POLICY.bands) is None
    one_more = incident("e", edge, edge + timedelta(minutes=43, seconds=13))
    worse = si.availability(si.downtime([one_more], june, july), june, july)
    assert si.band_for(worse, POLICY.bands) == sla.Band(999_000, 100_000)
    assert si.band_for(Fraction(989, 1000), POLICY.bands) == sla.Band(990_000, 250_000)
    assert si.band_for(Fraction(99, 100), POLICY.bands) == sla.Band(999_000, 100_000)


def test_g5_amount_is_the_band_percent_of_the_months_charge_rounded_half_up() -> None:
    assert si.credit_minor(20_000, 100_000) == 2000
    assert si.credit_minor(5, 100_000) == 1  # 0.5 cent rounds up
    assert si.credit_minor(4, 100_000) == 0
    assert si.credit_minor(3333, 125_000) == 417  # 416.625


def test_g5_suggestion_names_the_incident_availability_band_and_charge() -> None:
    outage = incident("a", at(3, 10), at(3, 12, 5), variants=("var_pro",))
    [s] = si.suggest(history(invoice("i1", date(2026, 3, 2))), [outage], [POLICY],
                     variant_names={"var_pro": "Pro plan"})
    assert (s.reason, s.invoice_id, s.amount_minor, s.currency) == (
        "service_issue", "i1", 2000, "USD")
    assert s.confidence == 1.0 and s.line_ids == ("i1-l1",)
    for words in ('"outage a"', "2026-03-03 10:00", "Pro plan", "99.71%", "March 2026",
                  "2 h 5 min", "10% below 99.9%", "$200.00", "INV-i1", "= $20.00"):
        assert words in s.explanation
    # the same evidence gets the same key on every refresh
    [again] = si.suggest(history(invoice("i1", date(2026, 3, 2))), [outage], [POLICY])
    assert again.evidence_key == s.evidence_key


def test_g5_scope_policy_and_what_is_already_credited() -> None:
    h = history(invoice("i1", date(2026, 3, 2)))
    long = (at(3, 0), at(3, 12))
    assert si.suggest(h, [incident("a", *long, customers=("cus_other",))], [POLICY]) == []
    assert si.suggest(h, [incident("a", *long, variants=("var_other",))], [POLICY]) == []
    assert si.suggest(h, [incident("a", *long)], []) == []  # no policy, no credit
    own = sla.Policy("var_pro", 999_500, (sla.Band(999_500, 500_000),))
    [s] = si.suggest(h, [incident("a", *long)], [POLICY, own])  # the variant's own policy
    assert s.amount_minor == 10_000
    done = si.Credited(months=frozenset({("var_pro", "2026-03")}))
    assert si.suggest(h, [incident("a", *long)], [POLICY], done) == []
    by_hand = si.Credited(invoices=frozenset({"i1"}))
    assert si.suggest(h, [incident("a", *long)], [POLICY], by_hand) == []
    # C5: an invoice already credited nearly in full can't take it
    full = history(invoice("i1", date(2026, 3, 2)),
                   memos=(MemoData("i1", "goodwill", 19_000, "issued"),))
    assert si.suggest(full, [incident("a", *long)], [POLICY]) == []


def test_g5_incidents_in_another_month_or_lines_without_variant_owe_nothing() -> None:
    h = history(invoice("i1", date(2026, 3, 2)))
    assert si.suggest(h, [incident("a", at(3, 0, month=5), at(4, 0, month=5))], [POLICY]) == []
    plain = History("cus_1", (InvoiceData("i2", "INV-2", date(2026, 3, 2), "USD", 500, (
        LineData("l", "Support", 1, 500, 500, None),)),))
    assert si.suggest(plain, [incident("a", at(3), at(5))], [POLICY]) == []


def test_g5_policy_validation_names_the_field() -> None:
    ok = sla.parse_policies([{"availability_promised": "99.9", "bands": [
        {"below": "99", "credit_percent": "25"}, {"below": "99.9", "credit_percent": "10"}]}])
    assert ok[0].bands == (sla.Band(999_000, 100_000), sla.Band(990_000, 250_000))
    cases = {
        "policies[0].availability_promised": {"availability_promised": "0", "bands": [
            {"below": "1", "credit_percent": "1"}]},
        "policies[0].bands[1].below": {"availability_promised": "99.9", "bands": [
            {"below": "99", "credit_percent": "5"}, {"below": "99", "credit_percent": "9"}]},
        "policies[0].bands[0].below": {"availability_promised": "99", "bands": [
            {"below": "99.5", "credit_percent": "5"}]},
        "policies[0].bands": {"availability_promised": "99.9", "bands": [
            {"below": "99.9", "credit_percent": "25"}, {"below": "99", "credit_percent": "10"}]},
        "policies[0].bands[0].credit_percent": {"availability_promised": "99.9", "bands": [
            {"below": "99.9", "credit_percent": "100.5"}]},
    }
    for field, policy in cases.items():
        with pytest.raises(errors.ValidationError) as caught:
            sla.parse_policies([policy])
        assert caught.value.errors[0].field == field
    with pytest.raises(errors.ValidationError) as twice:
        sla.parse_policies([ok_raw := {"availability_promised": "99", "bands": [
            {"below": "98", "credit_percent": "5"}]}, ok_raw])
    assert twice.value.errors[0].field == "policies[1].variant_id"


def test_g5_incident_must_end_after_it_starts() -> None:
    with pytest.raises(errors.ValidationError) as caught:
        sla.check_incident(started_at=at(3), ended_at=at(3), description="x", customer_ids=[],
                          variant_ids=[])
    assert caught.value.errors[0].field == "ended_at"
    with pytest.raises(errors.ValidationError) as blank:
        sla.check_incident(started_at=at(3), ended_at=at(4), description="  ",
                          customer_ids=[], variant_ids=[])
    assert blank.value.errors[0].field == "description"


def test_g5_availability_is_shown_truncated() -> None:
    assert si.percent_shown(Fraction(99899999, 100000000)) == "99.89"
    assert si.percent_shown(Fraction(1)) == "100.00"
    assert si.percent_shown(Fraction(MARCH_US - 7_500_000_000, MARCH_US)) == "99.71"
