"""G1/G2: the detectors on small, hand-built histories (pure domain, no database)."""

from __future__ import annotations

import dataclasses

from creditdesk.domain.suggestions import (
    MemoData,
    billing,
    calibration,
    candidates,
    duplicates,
    pricing,
)
from creditdesk.domain.suggestions import suggest as suggest_all
from tests.unit.suggestion_data import Book

PLAN = ("Managed endpoint (per seat)", 20, 1500, "v_plan")
KIT = ("Laptop dock", 2, 12000, "v_dock")


def monthly(book: Book, months: int, *lines) -> None:
    for m in range(months):
        book.invoice(30 * m, *(lines or (PLAN,)))


def test_g1_duplicate_charge_credits_the_later_invoice_and_cites_the_evidence() -> None:
    book = Book({"v_plan": 1500})
    monthly(book, 8)
    first = book.invoice(250, KIT, ("Cable", 3, 900, None))
    dup = book.invoice(252, KIT, ("Cable", 3, 900, None))
    found = [c for c in duplicates.detect(book.history()) if c.invoice_id == dup.id]
    assert len(found) == 1
    c = found[0]
    assert c.invoice_ids == (dup.id, first.id)
    assert c.amount_minor == dup.total_minor
    assert f"{dup.number} repeats {first.number} (same 2 lines" in c.explanation
    assert "2 days apart" in c.explanation


def test_g1_monthly_plan_repeats_are_explained_by_the_cadence() -> None:
    book = Book({"v_plan": 1500})
    monthly(book, 12)
    assert duplicates.detect(book.history()) == []


def test_g1_a_plan_billed_twice_in_one_month_is_a_duplicate() -> None:
    book = Book({"v_plan": 1500})
    monthly(book, 10)
    dup = book.invoice(271, PLAN)
    found = duplicates.detect(book.history())
    assert [c.invoice_id for c in found] == [dup.id]
    assert "billed monthly" in found[0].explanation


def test_g1_repeat_a_month_later_is_not_a_duplicate_candidate_beyond_the_window() -> None:
    book = Book()
    book.invoice(0, KIT)
    book.invoice(40, KIT)
    assert duplicates.detect(book.history()) == []


def test_g1_pricing_error_is_overcharge_times_quantity_against_the_usual_price() -> None:
    book = Book({"v_dock": 12000})
    for k in range(8):
        book.invoice(20 * k, ("Laptop dock", 2, 12000, "v_dock"))
    bad = book.invoice(170, ("Laptop dock", 3, 15000, "v_dock"))
    found = pricing.detect(book.history())
    assert [c.invoice_id for c in found] == [bad.id]
    assert found[0].amount_minor == (15000 - 12000) * 3
    assert "catalogue price is 120.00" in found[0].explanation


def test_g1_price_at_or_below_catalogue_is_never_a_pricing_error() -> None:
    book = Book({"v_dock": 15000})  # the catalogue price went up: 150.00 is right now
    for k in range(8):
        book.invoice(20 * k, ("Laptop dock", 2, 12000, "v_dock"))
    book.invoice(170, ("Laptop dock", 3, 15000, "v_dock"))
    assert pricing.detect(book.history()) == []


def test_g1_old_prices_above_a_lowered_catalogue_are_not_errors() -> None:
    book = Book({"v_dock": 10000})  # lowered from 120.00 to 100.00 half-way
    for k in range(8):
        book.invoice(20 * k, ("Laptop dock", 1, 12000, "v_dock"))
    for k in range(8, 16):
        book.invoice(20 * k, ("Laptop dock", 1, 10000, "v_dock"))
    assert pricing.detect(book.history()) == []


def test_g1_billing_adjustment_one_off_jump_credits_the_excess() -> None:
    book = Book({"v_plan": 1500})
    for m in range(10):
        seats = 40 if m == 6 else 20
        book.invoice(30 * m, ("Managed endpoint (per seat)", seats, 1500, "v_plan"))
    found = billing.detect(book.history())
    assert len(found) == 1
    assert found[0].amount_minor == 20 * 1500
    assert "billed monthly at USD 300.00" in found[0].explanation
    assert "went back to the usual amount" in found[0].explanation


def test_g1_lasting_seat_increase_is_not_a_billing_adjustment() -> None:
    book = Book({"v_plan": 1500})
    for m in range(10):
        seats = 30 if m >= 5 else 20
        book.invoice(30 * m, ("Managed endpoint (per seat)", seats, 1500, "v_plan"))
    assert billing.detect(book.history()) == []


def test_g1_catch_up_after_a_skipped_month_is_not_a_billing_adjustment() -> None:
    book = Book()
    for m in (0, 1, 2, 3, 4, 6, 7, 8):
        amount = 2 if m == 6 else 1
        book.invoice(30 * m, ("Backup storage", amount, 25000, None))
    assert billing.detect(book.history()) == []


def test_g1_situation_already_credited_by_a_non_void_memo_is_not_suggested() -> None:
    book = Book({"v_plan": 1500})
    monthly(book, 10)
    dup = book.invoice(271, PLAN)
    assert [c.invoice_id for c in candidates(book.history())] == [dup.id]
    book.memos.append(MemoData(dup.id, "duplicate_charge", dup.total_minor, "draft"))
    assert candidates(book.history()) == []
    book.memos[0] = MemoData(dup.id, "duplicate_charge", dup.total_minor, "void")
    assert [c.invoice_id for c in candidates(book.history())] == [dup.id]


def test_g2_suggestions_carry_reason_amount_confidence_and_a_stable_key() -> None:
    book = Book({"v_plan": 1500})
    monthly(book, 10)
    book.invoice(271, PLAN)
    first = suggest_all(book.history())
    again = suggest_all(book.history())
    assert len(first) == 1
    s = first[0]
    assert s.reason == "duplicate_charge" and s.currency == "USD"
    assert 0.55 <= s.confidence <= 1
    assert s.amount_minor == 30000 and s.explanation
    assert [x.evidence_key for x in again] == [s.evidence_key]


def test_g1_weekly_copy_six_days_later_is_the_extra_beat_not_the_next_week() -> None:
    """A weekly order sent again 6 days later: the copy breaks the rhythm and is the one
    credited, not the regular invoice due the day after it."""
    book = Book()
    for w in range(10):
        book.invoice(7 * w, KIT)
    copy = book.invoice(7 * 4 + 6, KIT)
    found = duplicates.detect(book.history())
    assert [c.invoice_id for c in found] == [copy.id]
    assert "billed weekly" in found[0].explanation


def test_g1_a_basket_ordered_every_few_days_repeating_is_less_surprising() -> None:
    rare, frequent = Book(), Book()
    rare.invoice(0, KIT)
    rare.invoice(400, KIT)
    rare.invoice(404, KIT)
    day = 0
    for k in range(60):  # the same basket every few days, with no regular rhythm
        frequent.invoice(day, KIT)
        day += (1, 9, 3, 12, 2, 6)[k % 6]
    [r] = duplicates.detect(rare.history())
    surprise = [c.features["log_surprise"] for c in duplicates.detect(frequent.history())]
    assert surprise and r.features["log_surprise"] > max(surprise)


def test_g1_a_price_other_customers_were_charged_then_is_known_to_the_market() -> None:
    from creditdesk.domain.suggestions import PriceSeen

    book = Book({"v_dock": 12000})
    for k in range(8):
        book.invoice(20 * k, ("Laptop dock", 2, 12000, "v_dock"))
    bad = book.invoice(170, ("Laptop dock", 1, 15000, "v_dock"))
    alone = pricing.detect(book.history())
    seen = {"v_dock": {15000: PriceSeen(bad.issue_date, bad.issue_date, 5)}}
    known = pricing.detect(dataclasses.replace(book.history(), market=seen))
    assert [c.features["market_known"] for c in alone] == [0.0]
    assert [c.features["market_known"] for c in known] == [1.0]
    assert calibration.confidence("pricing_error", known[0].features) < calibration.confidence(
        "pricing_error", alone[0].features)
