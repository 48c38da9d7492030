"""T1-T3 in the domain: rates, per-line per-component half-up rounding, inclusive prices,
and the completion rule that keeps memo tax from drifting (with Hypothesis)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditdesk.domain import errors, tax
from creditdesk.domain.tax import Component, Rate, Remaining


def simple(percent: str) -> Rate:
    return tax.parse_rate("R", percent, None)


# --- T1: rates ------------------------------------------------------------------------

def test_t1_a_rate_is_a_percent_with_up_to_four_places() -> None:
    assert simple("7.25").rate == 72_500
    assert simple("0.0001").rate == 1
    assert simple("100").rate == 1_000_000
    assert tax.percent_text(72_500) == "7.25" and tax.percent_text(10_000) == "1"


@pytest.mark.parametrize("bad", ["7.25001", "-1", "100.01", "abc", "", "NaN", None, True])
def test_t1_a_bad_rate_is_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(errors.ValidationError) as exc:
        tax.parse_rate("R", bad, None) if bad is not None else tax.parse_percent(bad, "rate")
    assert exc.value.errors[0].field == "rate"


def test_t1_rate_or_components_not_both_nor_neither_and_a_name() -> None:
    with pytest.raises(errors.ValidationError) as both:
        tax.parse_rate("R", "1", [{"name": "a", "rate": "1"}])
    with pytest.raises(errors.ValidationError) as neither:
        tax.parse_rate("R", None, None)
    with pytest.raises(errors.ValidationError) as unnamed:
        tax.parse_rate("  ", "1", None)
    with pytest.raises(errors.ValidationError) as bad_component:
        tax.parse_rate("R", None, [{"name": "state", "rate": "6.25"}, {"name": "", "rate": "x"}])
    assert both.value.errors[0].field == "rate"
    assert neither.value.errors[0].field == "rate"
    assert unnamed.value.errors[0].field == "name"
    assert {e.field for e in bad_component.value.errors} == {"components[1].name",
                                                             "components[1].rate"}


def test_t1_a_compound_rate_adds_its_components() -> None:
    rate = tax.parse_rate("CA", None, [{"name": "State", "rate": "6"},
                                       {"name": "County", "rate": "1.25"}])
    assert rate.compound and rate.rate == 72_500


# --- T2: per line, per component, half-up ------------------------------------------------

def test_t2_exclusive_tax_rounds_half_up_per_line() -> None:
    assert tax.line_tax(1000, simple("7.25"), inclusive=False) == tax.LineTax(1000, 73)  # 72.5
    assert tax.line_tax(1000, simple("7.24"), inclusive=False) == tax.LineTax(1000, 72)
    assert tax.line_tax(1000, None, inclusive=False) == tax.LineTax(1000, 0)


def test_t2_each_component_rounds_on_its_own_no_tax_on_tax() -> None:
    # 10.00 at 2.5 % + 2.5 %: each 0.25 exactly; at 0.05 % + 0.05 % each 0.005 -> 0.01
    two = Rate("x", (Component("a", 500), Component("b", 500)))
    assert tax.line_tax(1000, two, inclusive=False).tax == 2  # a single 0.1 % would give 1
    assert tax.line_tax(1000, simple("0.1"), inclusive=False).tax == 1


def test_t2_inclusive_net_is_gross_less_tax() -> None:
    # 107.25 gross at 7.25 %: tax 7.25, net 100.00
    assert tax.line_tax(10725, simple("7.25"), inclusive=True) == tax.LineTax(10000, 725)
    # 10.00 gross at 7.25 %: 10 x 0.0725 / 1.0725 = 0.676 -> 0.68
    assert tax.line_tax(1000, simple("7.25"), inclusive=True) == tax.LineTax(932, 68)


def test_t2_document_total_is_net_plus_tax_and_tax_per_rate() -> None:
    totals = tax.document_totals([("a", tax.LineTax(1000, 73)), (None, tax.LineTax(500, 0)),
                                  ("b", tax.LineTax(200, 10)), ("a", tax.LineTax(100, 7))])
    assert (totals.subtotal, totals.tax, totals.total) == (1800, 90, 1890)
    assert totals.by_rate == (("a", 80), ("b", 10))


# --- T3: partial credits and the line that completes ------------------------------------

def test_t3_a_partial_credit_carries_the_tax_of_its_amount() -> None:
    got = tax.credited_line_tax(333, simple("10"), inclusive=False,
                                remaining=Remaining(1000, 100))
    assert got == tax.LineTax(333, 33)


def test_t3_the_completing_credit_takes_exactly_the_tax_left() -> None:
    # 3 x 0.10 at 5 %: the line's tax 0.015 -> 0.02; each unit's 0.005 -> 0.01
    rate = simple("5")
    line = tax.line_tax(30, rate, inclusive=False)
    first = tax.credited_line_tax(10, rate, inclusive=False, remaining=Remaining(30, line.tax))
    second = tax.credited_line_tax(10, rate, inclusive=False,
                                   remaining=Remaining(20, line.tax - first.tax))
    last = tax.credited_line_tax(10, rate, inclusive=False,
                                 remaining=Remaining(10, line.tax - first.tax - second.tax))
    assert (line.tax, first.tax, second.tax, last.tax) == (2, 1, 1, 0)


def test_t3_inclusive_completion_keeps_gross_and_takes_the_tax_left() -> None:
    got = tax.credited_line_tax(500, simple("7.25"), inclusive=True,
                                remaining=Remaining(500, 34))
    assert got == tax.LineTax(466, 34)


rates = st.one_of(
    st.integers(0, 300_000).map(lambda r: Rate("s", (Component("s", r),))),
    st.lists(st.integers(0, 100_000), min_size=2, max_size=3).map(
        lambda rs: Rate("c", tuple(Component(f"c{i}", r) for i, r in enumerate(rs)))),
)


@st.composite
def invoices_and_splits(draw: st.DrawFn) -> tuple[bool, list[tuple[int, int, Rate]],
                                                   list[list[int]]]:
    """An invoice's lines (quantity, unit price, rate) and, per line, how its quantity is
    split across memos (each part credited at the full unit price)."""
    inclusive = draw(st.booleans())
    lines = draw(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 100_000), rates),
                          min_size=1, max_size=5))
    splits = []
    for quantity, _, _ in lines:
        cuts = sorted(draw(st.sets(st.integers(1, quantity - 1), max_size=quantity - 1))
                      ) if quantity > 1 else []
        bounds = [0, *cuts, quantity]
        splits.append([b - a for a, b in itertools.pairwise(bounds)])
    return inclusive, lines, splits


@settings(max_examples=400, deadline=None)
@given(invoices_and_splits(), st.randoms(use_true_random=False))
def test_t3_crediting_every_line_in_full_returns_exactly_its_tax(case, rnd) -> None:
    """However a line's quantity is split over memos, in whatever order, the memos' tax
    adds up to the invoice's, line by line and in total; every memo line's net + tax is
    what it credits."""
    inclusive, lines, splits = case
    invoice = [tax.line_tax(q * p, r, inclusive=inclusive) for q, p, r in lines]
    # each memo credits some part of some lines; parts go to memos in a random order
    parts = [(i, qty) for i, split in enumerate(splits) for qty in split]
    rnd.shuffle(parts)
    left = {i: Remaining(q * p, invoice[i].tax) for i, (q, p, _) in enumerate(lines)}
    credited_tax = dict.fromkeys(left, 0)
    credited_net = dict.fromkeys(left, 0)
    for i, qty in parts:
        _, price, rate = lines[i]
        amount = qty * price
        got = tax.credited_line_tax(amount, rate, inclusive=inclusive, remaining=left[i])
        assert (got.net + got.tax == amount) if inclusive else (got.net == amount)
        left[i] = Remaining(left[i].amount - amount, left[i].tax - got.tax)
        credited_tax[i] += got.tax
        credited_net[i] += got.net
    for i, figures in enumerate(invoice):
        assert left[i] == Remaining(0, 0)
        assert credited_tax[i] == figures.tax
        assert credited_net[i] == figures.net
    assert sum(credited_tax.values()) == sum(f.tax for f in invoice)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**9), rates, st.booleans())
def test_t2_tax_never_exceeds_what_the_rate_allows_by_more_than_rounding(amount, rate,
                                                                        inclusive) -> None:
    got = tax.line_tax(amount, rate, inclusive=inclusive)
    n = len(rate.components)
    if inclusive:
        exact = amount * rate.rate / (1_000_000 + rate.rate)
        assert got.net + got.tax == amount
    else:
        exact = amount * rate.rate / 1_000_000
        assert got.net == amount
    assert abs(got.tax - exact) <= n / 2 + 1e-6


# --- T3 with partial amounts, low prices, compound rates and inclusive prices -------------

def t2_oracle(amount: int, rate: Rate, *, inclusive: bool) -> int:
    """T2 computed independently of the domain, with Decimal half-up: each component's tax
    of the line's amount (exclusive: amount x r_i; inclusive: amount x r_i / (1 + r))."""
    from decimal import ROUND_HALF_UP, Decimal
    whole = Decimal(1_000_000 + (rate.rate if inclusive else 0))
    return sum(int((Decimal(amount) * c.rate / whole).quantize(Decimal(1), ROUND_HALF_UP))
               for c in rate.components)


# prices where rounding is sharpest (1-99 minor units: a cent, a yen, a fils) and ordinary
# ones; as the domain counts minor units, a JPY or KWD line is one of these too
prices = st.one_of(st.integers(1, 99), st.integers(100, 200_000))
line_rates = st.one_of(
    st.sampled_from(["5", "7.25", "8.875", "20", "19.6", "0.05", "99.99", "100"]).map(simple),
    rates)


@st.composite
def partial_credits(draw: st.DrawFn) -> tuple[bool, int, int, Rate, list[int], bool]:
    """One invoice line (quantity, unit price, rate), inclusive or not, and the amounts of
    the memo lines crediting it, in order: whole units at the invoice price, fewer or more
    units at a lower price, or any amount; and whether a last one credits what is left."""
    inclusive = draw(st.booleans())
    quantity, price, rate = draw(st.integers(1, 30)), draw(prices), draw(line_rates)
    left, amounts = quantity * price, []
    for _ in range(draw(st.integers(0, 12))):
        if left <= 1:
            break
        kind = draw(st.sampled_from(["units", "lower price", "amount"]))
        if kind == "units":
            amount = draw(st.integers(1, max(1, min(quantity, left // price)))) * price
        elif kind == "lower price" and price > 1:
            amount = draw(st.integers(1, quantity)) * draw(st.integers(1, price - 1))
        else:
            amount = draw(st.integers(1, left))
        if amount >= left:  # completing is the last step's business
            continue
        amounts.append(amount)
        left -= amount
    return inclusive, quantity, price, rate, amounts, draw(st.booleans())


@settings(max_examples=1500, deadline=None)
@given(partial_credits())
def test_t3_partial_credits_carry_their_t2_tax_and_completion_is_exact(case) -> None:
    """Memos crediting parts of a line (whole units, fewer units at a lower price, any
    amount) each carry the T2 tax of what they credit (T3 as written). The memo completing
    the line takes exactly what is left, so a fully credited line returns exactly its tax
    and net, however it was split."""
    inclusive, quantity, price, rate, amounts, complete = case
    line = tax.line_tax(quantity * price, rate, inclusive=inclusive)
    assert line.tax == t2_oracle(quantity * price, rate, inclusive=inclusive)
    left = Remaining(quantity * price, line.tax)
    credited_tax = credited_net = 0
    steps = amounts + ([left.amount - sum(amounts)] if complete else [])
    for amount in steps:
        got = tax.credited_line_tax(amount, rate, inclusive=inclusive, remaining=left)
        if amount == left.amount:  # the completing memo: exactly the tax left
            assert got.tax == left.tax
        else:  # T2 of its own amount
            assert got.tax == t2_oracle(amount, rate, inclusive=inclusive)
        assert (got.net + got.tax == amount) if inclusive else (got.net == amount)
        left = Remaining(left.amount - amount, left.tax - got.tax)
        credited_tax += got.tax
        credited_net += got.net
    if complete:
        assert left == Remaining(0, 0)
        assert (credited_tax, credited_net) == (line.tax, line.net)


def test_t3_small_parts_rounding_up_leave_the_completing_memo_a_negative_remainder() -> None:
    """10 x 0.10 at 5 %: the line's tax is 0.05 but each unit alone carries 0.01 (0.005
    half-up, T2). Nine carry it; the tenth, which completes the line, takes what is left:
    -0.04, so the ten add up to the line's 0.05 exactly (T3: no cent of drift)."""
    rate = simple("5")
    line = tax.line_tax(100, rate, inclusive=False)
    left, taxes = Remaining(100, line.tax), []
    for _ in range(10):
        got = tax.credited_line_tax(10, rate, inclusive=False, remaining=left)
        left = Remaining(left.amount - 10, left.tax - got.tax)
        taxes.append(got.tax)
    assert line.tax == 5 and taxes == [1] * 9 + [-4] and sum(taxes) == line.tax


def test_t3_inclusive_low_prices_the_completing_memo_may_carry_more_tax_than_its_gross():
    """A documented consequence of T3, not a property: 20 x 0.01 at 20 % tax-inclusive.
    The line's tax is 0.03 (0.0333); each 0.01 alone carries 0.00 (0.00167); the memo
    completing the line with its last 0.01 takes the 0.03 left, so its net is -0.02."""
    rate = simple("20")
    left = Remaining(20, tax.line_tax(20, rate, inclusive=True).tax)
    for _ in range(19):
        got = tax.credited_line_tax(1, rate, inclusive=True, remaining=left)
        assert got == tax.LineTax(1, 0)
        left = Remaining(left.amount - 1, left.tax)
    assert tax.credited_line_tax(1, rate, inclusive=True, remaining=left) == tax.LineTax(-2, 3)
