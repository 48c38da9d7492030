"""G1/G2: the detectors on small, hand-built histories (pure domain, no database)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from creditdesk.domain.suggestions import (
    MemoData,
    billing,
    calibration,
    candidates,
    duplicates,
    pricing,
)
from creditdesk.domain.suggestions import suggest as suggest_all
from tests.unit.suggestion_data import START, Book

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
    assert "catalogue price on 2025-06-25 was 120.00" in found[0].explanation


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


def test_g1_g6_billing_adjustment_one_off_unit_price_jump_credits_it_times_the_seats() -> None:
    book = Book({"v_plan": 2000})  # the customer's negotiated 15.00 is below the list price
    for m in range(10):
        seats = 20 if m < 6 else 24  # a lasting seat change on the jump's own invoice
        price = 1900 if m == 6 else 1500
        book.invoice(30 * m, ("Managed endpoint (per seat)", seats, price, "v_plan"))
    found = billing.detect(book.history())
    assert len(found) == 1
    assert found[0].amount_minor == (1900 - 1500) * 24  # the unit price over x seats billed
    assert "billed monthly at USD 15.00 per unit" in found[0].explanation
    assert "went back to the usual amount" in found[0].explanation


def test_g6_a_one_off_change_of_seats_on_a_per_seat_plan_is_not_an_error() -> None:
    book = Book({"v_plan": 1500})
    for m in range(10):
        seats = 40 if m == 6 else 20  # contractors for one month
        book.invoice(30 * m, ("Managed endpoint (per seat)", seats, 1500, "v_plan"))
    assert candidates(book.history()) == []


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
        book.invoice((0, 9, 31, 40, 66, 90, 101, 140)[k], ("Laptop dock", 2, 12000, "v_dock"))
    bad = book.invoice(170, ("Laptop dock", 1, 15000, "v_dock"))
    alone = pricing.detect(book.history())
    # one other customer charged it 4 times then (a tier, a contract), not a list price
    seen = {"v_dock": {15000: PriceSeen(bad.issue_date, bad.issue_date, 5, 1)}}
    known = pricing.detect(dataclasses.replace(book.history(), market=seen))
    assert [c.features["market_known"] for c in alone] == [0.0]
    assert [c.features["market_known"] for c in known] == [1.0]
    assert calibration.confidence("pricing_error", known[0].features) < calibration.confidence(
        "pricing_error", alone[0].features)


# --- issue 16: prices in force (G6), reissues, reworded copies, regular reorderers ---------


def _market(variant: str, *spans: tuple[int, int, int, int]) -> dict:
    """Other customers' prices: (price, first day, last day, customers), 10 lines each."""
    from creditdesk.domain.suggestions import PriceSeen
    from tests.unit.suggestion_data import START as S

    return {variant: {p: PriceSeen(S + timedelta(days=a), S + timedelta(days=b), 10, n)
                      for p, a, b, n in spans}}


def test_g6_list_price_in_force_is_read_from_what_the_partner_charged() -> None:
    from creditdesk.domain.suggestions.prices import ListPrice

    book = Book({"v_dock": 11000})  # raised from 100.00 to 110.00 on day 200
    hist = dataclasses.replace(book.history(), market=_market(
        "v_dock", (10000, 0, 199, 5), (11000, 200, 400, 4), (9000, 0, 400, 1)))
    list_price = ListPrice(hist, "v_dock")
    assert list_price.at(START + timedelta(days=100)) == 10000
    assert list_price.at(START + timedelta(days=250)) == 11000
    # a customer who paid list carries the list price; a discount keeps its proportion
    assert list_price.carry(10000, START, START + timedelta(days=250)) == 11000
    assert list_price.carry(9000, START, START + timedelta(days=250)) == 9900


def test_g1_g6_new_variant_small_overcharge_is_measured_against_the_list_price_then() -> None:
    book = Book({"v_dock": 11000})
    for k in range(6):
        book.invoice(20 * k, ("Keyboard", 1, 5000, None))
    bad = book.invoice(150, ("Laptop dock", 2, 10500, "v_dock"))  # list was 100.00 then
    hist = dataclasses.replace(book.history(), market=_market(
        "v_dock", (10000, 0, 199, 5), (11000, 200, 400, 4)))
    found = pricing.detect(hist)
    assert [c.invoice_id for c in found] == [bad.id]
    assert found[0].amount_minor == 500 * 2
    assert found[0].features["has_history"] == 0.0
    assert [s.invoice_id for s in suggest_all(hist)] == [bad.id]


def test_g6_after_a_price_rise_the_new_price_is_the_reference() -> None:
    book = Book({"v_dock": 11000})
    for k in range(6):
        book.invoice(30 * k, ("Laptop dock", 1, 10000, "v_dock"))
    bad = book.invoice(210, ("Laptop dock", 1, 12500, "v_dock"))
    for k in range(8, 12):
        book.invoice(30 * k, ("Laptop dock", 1, 11000, "v_dock"))
    hist = dataclasses.replace(book.history(), market=_market(
        "v_dock", (10000, 0, 199, 5), (11000, 200, 400, 4)))
    [c] = pricing.detect(hist)
    assert c.invoice_id == bad.id and c.amount_minor == 12500 - 11000


def test_g6_after_a_negotiated_discount_ends_the_list_price_is_not_an_error() -> None:
    book = Book({"v_dock": 10000})
    for k in range(8):
        book.invoice(30 * k, ("Laptop dock", 1, 8500, "v_dock"))
    for k in range(8, 14):
        book.invoice(30 * k, ("Laptop dock", 1, 10000, "v_dock"))
    assert pricing.detect(book.history()) == []


def test_g1_pricing_error_below_list_but_above_the_customers_steady_price() -> None:
    book = Book({"v_dock": 10000})
    day = 0
    for k in range(12):
        book.invoice(day, ("Laptop dock", 2, 9000, "v_dock"))
        day += (11, 23, 17, 31)[k % 4]  # ad-hoc orders, no regular cadence
    bad = book.invoice(day, ("Laptop dock", 2, 9500, "v_dock"))
    book.invoice(day + 20, ("Laptop dock", 2, 9000, "v_dock"))
    [c] = pricing.detect(book.history())
    assert c.invoice_id == bad.id and c.amount_minor == 500 * 2


def test_g1_a_reissue_of_an_invoice_credited_in_full_is_not_a_duplicate() -> None:
    book = Book()
    book.invoice(0, ("Keyboard", 1, 5000, None))
    original = book.invoice(100, KIT, ("Cable", 3, 900, None))
    book.invoice(101, ("Cable", 3, 900, None), KIT)  # reissued, lines reordered
    assert len(duplicates.detect(book.history())) == 1
    book.memos.append(MemoData(original.id, "other", original.total_minor, "issued"))
    assert duplicates.detect(book.history()) == []


def test_g1_a_copy_with_reordered_and_reworded_lines_is_a_duplicate() -> None:
    book = Book()
    book.invoice(0, ("Keyboard", 1, 5000, None))
    book.invoice(100, KIT, ("Website hosting March 2025", 1, 9900, None))
    copy = book.invoice(102, ("Website Hosting - (March 2025)", 1, 9900, None), KIT)
    assert [c.invoice_id for c in duplicates.detect(book.history())] == [copy.id]


def test_g1_same_day_double_bill_of_a_weekly_reorderer_is_suggested() -> None:
    book = Book()
    for w in range(20):
        book.invoice(7 * w, KIT)
    copy = book.invoice(7 * 12, KIT)
    found = suggest_all(book.history())
    assert [s.invoice_id for s in found] == [copy.id]
    assert found[0].features["same_day"] == 1.0
    assert "the same day" in found[0].explanation


def test_g1_annual_plan_jump_is_a_billing_adjustment() -> None:
    book = Book()
    for y in range(5):
        price = 300000 if y == 3 else 240000
        book.invoice(365 * y, ("Backup storage 2025", 1, price, None))
    [c] = billing.detect(book.history())
    assert c.amount_minor == 60000 and c.features["annual"] == 1.0


def test_issue16_item5_feedback_shifts_a_reasons_confidence_with_a_floor() -> None:
    book = Book({"v_plan": 1500})
    monthly(book, 10)
    book.invoice(271, PLAN)
    hist = book.history()
    [plain] = suggest_all(hist)
    [liked] = suggest_all(dataclasses.replace(hist, feedback={"duplicate_charge": (40, 0)}))
    assert liked.confidence > plain.confidence
    # other reasons' decisions change nothing
    [other] = suggest_all(dataclasses.replace(hist, feedback={"pricing_error": (0, 40)}))
    assert other.confidence == plain.confidence
    disliked = suggest_all(dataclasses.replace(hist, feedback={"duplicate_charge": (0, 40)}))
    own = calibration.confidence("duplicate_charge", plain.features)
    if own >= calibration.FLOOR:  # the floor: still shown, with the partner's confidence
        assert disliked and disliked[0].confidence < plain.confidence
    else:
        assert disliked == [] or disliked[0].confidence < plain.confidence
    assert calibration.for_partner(0.995, (0, 1000)) < 0.995
    assert calibration.partner_shift((0, 1000)) == -calibration.MAX_SHIFT
    assert calibration.partner_shift(None) == 0.0


def test_g6_the_latest_purchase_moving_to_the_catalogue_price_is_not_an_error() -> None:
    """Nobody else buys it, so nothing tells when the price rose: the customer's latest
    purchase at exactly today's catalogue price is a change, not a slip."""
    book = Book({"v_dock": 11000})
    day = 0
    for k in range(8):
        book.invoice(day, ("Laptop dock", 1, 10000, "v_dock"))
        day += (11, 23, 17, 31)[k % 4]
    book.invoice(day, ("Laptop dock", 1, 11000, "v_dock"))
    assert pricing.detect(book.history()) == []
    book.invoice(day + 30, ("Laptop dock", 1, 10000, "v_dock"))  # and back: a one-off
    assert len(pricing.detect(book.history())) == 1


def test_g1_a_basket_reordered_every_day_or_few_is_not_a_duplicate_but_a_same_day_copy_is() -> None:
    book = Book()
    day = 0
    for k in range(60):  # the same supplies every 1-12 days, no rhythm
        book.invoice(day, KIT)
        day += (1, 9, 3, 12, 2, 6)[k % 6]
    assert suggest_all(book.history()) == []
    copy = book.invoice(day - 6, KIT)  # billed twice on one day
    assert [s.invoice_id for s in suggest_all(book.history())] == [copy.id]
