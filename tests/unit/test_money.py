"""Money is exact (M1), bounded and positive where users enter it (M2), and one-currency (M4)."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from creditdesk.domain import currencies, money
from creditdesk.domain.money import MAX_MAJOR, Money, MoneyError

CURRENCIES = sorted(currencies.MINOR_DIGITS)


@st.composite
def monies(draw: st.DrawFn, *, bounded: bool = True) -> Money:
    """Any Money; ``bounded`` keeps it within what a user may enter (|amount| <= MAX_MAJOR)."""
    code = draw(st.sampled_from(CURRENCIES))
    limit = MAX_MAJOR * 10 ** currencies.minor_digits(code)
    minor = draw(st.integers(-limit, limit) if bounded else st.integers())
    return Money(minor, code)


# --- M1: exact parsing ---------------------------------------------------------------

@pytest.mark.parametrize(("value", "currency", "minor"), [
    ("60.00", "USD", 6000), ("60", "USD", 6000), ("0.1", "USD", 10), (" 5.50 ", "EUR", 550),
    ("60.000", "USD", 6000), ("1E+2", "GBP", 10000), ("-5.50", "CAD", -550),
    ("1234", "JPY", 1234), ("1.0", "JPY", 1), ("1.234", "KWD", 1234), ("0.001", "KWD", 1),
    (60, "USD", 6000), (7, "JPY", 7), (Decimal("12.34"), "USD", 1234),
    (Decimal("12.340"), "USD", 1234), (Decimal("5"), "KWD", 5000),
])
def test_m1_parses_strings_ints_and_decimals_exactly(value: object, currency: str,
                                                      minor: int) -> None:
    assert Money.parse(value, currency) == Money(minor, currency)


@pytest.mark.parametrize(("value", "minor"), [("0.29", 29), ("1.15", 115), ("4.35", 435),
                                              ("123456789012.34", 12345678901234)])
def test_m1_parsing_never_goes_through_a_binary_float(value: str, minor: int) -> None:
    # int(float(v) * 100) would give 28, 114, 434 and 12345678901233 here.
    assert Money.parse(value, "USD").minor == minor


def test_m1_sums_are_exact() -> None:
    total = Money.parse("0.1", "USD") + Money.parse("0.2", "USD")
    assert total == Money.parse("0.3", "USD")


@pytest.mark.parametrize("value", [0.5, 60.0, 0.0, -1.0, float("nan"), float("inf")])
def test_m1_refuses_binary_floats(value: float) -> None:
    with pytest.raises(MoneyError, match="float"):
        Money.parse(value, "USD")


@pytest.mark.parametrize("value", [True, False])
def test_m1_refuses_booleans(value: bool) -> None:
    with pytest.raises(MoneyError):
        Money.parse(value, "USD")


@pytest.mark.parametrize("value", ["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf",
                                   Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")])
def test_m1_refuses_nan_and_infinity(value: object) -> None:
    with pytest.raises(MoneyError):
        Money.parse(value, "USD")


@pytest.mark.parametrize("value", ["", "   ", "abc", "1.2.3", "$5", "5 USD", "1,000.00", "0x10",
                                   "--5", "5-", "1e", ".", "\ud800", "1\x00", None, [], {},
                                   b"5", object()])
def test_m1_refuses_garbage(value: object) -> None:
    with pytest.raises(MoneyError):
        Money.parse(value, "USD")


@pytest.mark.parametrize(("value", "currency", "digits"), [
    ("0.001", "USD", 2), ("60.005", "USD", 2), ("0.015", "EUR", 2), ("1.5", "JPY", 0),
    ("0.1", "JPY", 0), ("1.0001", "KWD", 3), (Decimal("0.001"), "USD", 2), ("1.0001E+1", "USD", 2),
    ("1.23456", "CLF", 4),
])
def test_m1_refuses_more_digits_than_the_currency_has(value: object, currency: str,
                                                       digits: int) -> None:
    with pytest.raises(MoneyError, match=rf"{currency} amounts have at most {digits} decimal"):
        Money.parse(value, currency)


@pytest.mark.parametrize(("code", "digits"), [("USD", 2), ("CAD", 2), ("EUR", 2), ("GBP", 2),
                                              ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)])
def test_m1_currency_minor_unit_digits(code: str, digits: int) -> None:
    assert currencies.is_known(code)
    assert currencies.minor_digits(code) == digits


@pytest.mark.parametrize("code", ["usd", "XXX", "US", "USDD", "", None, 840, ["USD"]])
def test_m1_refuses_unknown_currencies(code: object) -> None:
    with pytest.raises(MoneyError, match="ISO 4217"):
        Money.parse("1.00", code)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(100, code)  # type: ignore[arg-type]


@pytest.mark.parametrize("minor", [1.0, True, Decimal(1), "1"])
def test_m1_money_counts_whole_minor_units_only(minor: object) -> None:
    with pytest.raises(TypeError):
        Money(minor, "USD")  # type: ignore[arg-type]


def test_m1_money_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Money(1, "USD").minor = 2  # type: ignore[misc]


@pytest.mark.parametrize(("m", "text"), [
    (Money(6000, "USD"), "60.00"), (Money(5, "USD"), "0.05"), (Money(-5, "USD"), "-0.05"),
    (Money(0, "EUR"), "0.00"), (Money(1500, "JPY"), "1500"), (Money(1, "KWD"), "0.001"),
    (Money(-1234, "KWD"), "-1.234"), (Money(99_999_999_999_999, "USD"), "999999999999.99"),
])
def test_m1_to_str_shows_exactly_the_minor_digits(m: Money, text: str) -> None:
    assert m.to_str() == text
    assert money.minor_to_str(m.minor, m.currency) == text
    assert str(m) == m.shown()


@pytest.mark.parametrize(("m", "shown"), [
    (Money(339000, "USD"), "$3,390.00"), (Money(-5, "USD"), "\u2212$0.05"),
    (Money(1200, "CAD"), "CA$12.00"), (Money(1000500, "KWD"), "1,000.500 KWD"),
    (Money(150000, "JPY"), "¥150,000"),
])
def test_amounts_in_messages_are_shown_as_on_the_page(m: Money, shown: str) -> None:
    """Refusals format amounts with str(): "only $3,390.00 remains", never "3390.00 USD"."""
    assert str(m) == shown == m.shown()


@given(monies())
def test_m1_to_str_round_trips_through_parse(m: Money) -> None:
    text = m.to_str()
    digits = currencies.minor_digits(m.currency)
    assert re.fullmatch(r"-?\d+" + (rf"\.\d{{{digits}}}" if digits else ""), text)
    assert Money.parse(text, m.currency) == m


@given(monies(bounded=False))
@example(Money(10**30 + 1, "USD"))
def test_m1_to_decimal_is_exact_for_any_amount(m: Money) -> None:
    digits = currencies.minor_digits(m.currency)
    exact = Decimal(f"{m.minor}e-{digits}")
    assert m.to_decimal() == exact
    assert m.to_decimal().as_tuple() == exact.as_tuple()  # same digits, same exponent


@given(st.sampled_from(CURRENCIES), st.data())
def test_m1_any_decimal_within_the_digits_round_trips_exactly(code: str,
                                                              data: st.DataObject) -> None:
    digits = currencies.minor_digits(code)
    places = data.draw(st.integers(0, digits))
    coefficient = data.draw(st.integers(-MAX_MAJOR * 10**places, MAX_MAJOR * 10**places))
    value = Decimal(f"{coefficient}e-{places}")
    parsed = Money.parse(value, code)
    assert parsed.to_decimal() == value
    assert parsed.minor == coefficient * 10 ** (digits - places)
    assert Money.parse(str(value), code) == parsed


@given(st.sampled_from(CURRENCIES), st.integers(1, 30), st.integers(1, 10**15))
def test_m1_extra_non_zero_digits_are_refused_never_rounded(code: str, extra: int,
                                                            coefficient: int) -> None:
    if coefficient % 10 == 0:
        coefficient += 1  # the last digit must be non-zero to be a real extra digit
    value = f"{coefficient}e-{currencies.minor_digits(code) + extra}"
    with pytest.raises(MoneyError, match="decimal place"):
        Money.parse(value, code)


@given(st.sampled_from(CURRENCIES), st.integers(-(10**50), 10**50), st.integers(-60, 16))
@example("USD", 99999999999999, -2)  # the largest amount, then one minor unit more:
@example("USD", 99999999999999 + 1, -2)
@example("USD", 999999999999999, -3)  # 999,999,999,999.999: one digit too many
@example("USD", 10**40 + 1, -40)  # more digits than _EXACT keeps: exact or refused
@example("JPY", -0, 7)
def test_m1_parse_minor_agrees_with_exact_fractions(code: str, coefficient: int,
                                                    exponent: int) -> None:
    """Both of _to_minor's ways (the quick one for plain amounts, the digit-by-digit one)
    give what exact rational arithmetic gives: an amount or a MoneyError, never rounding."""
    value = Decimal(f"{coefficient}e{exponent}")  # exact: no context involved
    scaled = Fraction(value) * 10 ** currencies.minor_digits(code)
    if scaled.denominator != 1:
        with pytest.raises(MoneyError, match="decimal place"):
            money.parse_minor(value, code)
    elif abs(scaled.numerator) > MAX_MAJOR * 10 ** currencies.minor_digits(code):
        with pytest.raises(MoneyError, match="must not exceed"):
            money.parse_minor(value, code)
    else:
        assert money.parse_minor(value, code) == scaled.numerator
        assert money.parse_minor(str(value), code) == scaled.numerator


# --- M2: positive and bounded ---------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "0.00", "-0", "-0.01", 0, -5, Decimal("-1"), "0e5"])
def test_m2_parse_positive_refuses_zero_and_negative(value: object) -> None:
    with pytest.raises(MoneyError, match="greater than zero"):
        Money.parse_positive(value, "USD")


@pytest.mark.parametrize(("value", "currency", "minor"), [
    ("0.01", "USD", 1), ("1", "JPY", 1), ("0.001", "KWD", 1),
    ("999999999999", "USD", 99_999_999_999_900), ("999999999999.00", "USD", 99_999_999_999_900),
    ("999999999999", "JPY", 999_999_999_999), ("999999999999.000", "KWD", 999_999_999_999_000),
    ("9.99999999999e11", "USD", 99_999_999_999_900),
])
def test_m2_parse_positive_accepts_from_one_minor_unit_up_to_the_maximum(
        value: str, currency: str, minor: int) -> None:
    assert Money.parse_positive(value, currency) == Money(minor, currency)


@pytest.mark.parametrize(("value", "currency"), [
    ("999999999999.01", "USD"), ("1000000000000", "USD"), ("999999999999.001", "KWD"),
    ("1000000000000", "JPY"), (10**12, "USD"), ("1e12", "EUR"), ("-1000000000000", "USD"),
    (Decimal("999999999999.1"), "USD"),
])
def test_m2_amounts_above_the_maximum_are_refused(value: object, currency: str) -> None:
    with pytest.raises(MoneyError, match="must not exceed 999,999,999,999"):
        Money.parse(value, currency)


HOSTILE = ["1e999999999", "1e-999999999", "-1e999999999", "1e999999999999999999999",
           "1e-999999999999999999999", "9" * 100_000, "0." + "0" * 100_000 + "1",
           "9" * 100_000 + "e-99990", 10**20_000, -(10**20_000),
           Decimal("1e999999999999999999"), Decimal("1e-999999999999999999")]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_m1_m2_hostile_inputs_are_refused_with_money_error(value: object) -> None:
    with pytest.raises(MoneyError):
        Money.parse(value, "USD")


def test_m1_huge_exact_representations_of_small_amounts_are_accepted() -> None:
    assert Money.parse("1" + "0" * 100_000 + "e-100000", "USD") == Money(100, "USD")
    assert Money.parse("0e999999999", "USD") == Money(0, "USD")


@settings(deadline=None)
@given(st.one_of(
    st.text(),
    st.from_regex(r"\A\s*[+-]?\d{0,40}(\.\d{0,40})?([eE][+-]?\d{1,25})?\s*\Z"),
    st.decimals(), st.integers(), st.floats(), st.booleans(), st.none(),
))
def test_m1_m2_any_input_parses_or_raises_money_error_only(value: object) -> None:
    try:
        parsed = Money.parse_positive(value, "USD")
    except MoneyError:
        return
    assert 0 < parsed.minor <= MAX_MAJOR * 100


# --- arithmetic within one currency ---------------------------------------------------

@given(monies(), monies())
def test_m1_arithmetic_is_exact_within_one_currency(a: Money, b: Money) -> None:
    b = Money(b.minor, a.currency)
    assert (a + b).minor == a.minor + b.minor
    assert (a - b).minor == a.minor - b.minor
    assert (-a).minor == -a.minor
    assert (a < b) == (a.minor < b.minor) and (a <= b) == (a.minor <= b.minor)
    assert (a > b) == (a.minor > b.minor) and (a >= b) == (a.minor >= b.minor)
    assert {(a + b).currency, (a - b).currency, (-a).currency} == {a.currency}


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__lt__", "__le__", "__gt__", "__ge__"])
def test_m4_money_never_combines_two_currencies(op: str) -> None:
    with pytest.raises(MoneyError, match="cannot combine USD with EUR"):
        getattr(Money(100, "USD"), op)(Money(100, "EUR"))


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__lt__"])
@pytest.mark.parametrize("other", [1, Decimal(1), 1.0])
def test_m1_money_never_combines_with_bare_numbers(op: str, other: object) -> None:
    with pytest.raises(TypeError):
        getattr(Money(100, "USD"), op)(other)


def test_m4_same_amount_in_two_currencies_is_not_equal() -> None:
    assert Money(100, "USD") != Money(100, "CAD")
    assert Money(100, "USD") == Money.parse("1.00", "USD")


def test_m1_times_multiplies_exactly_by_whole_quantities() -> None:
    assert Money.parse("19.99", "USD").times(3) == Money(5997, "USD")
    for quantity in (1.5, True, Decimal(2)):
        with pytest.raises(TypeError):
            Money(1999, "USD").times(quantity)  # type: ignore[arg-type]


@pytest.mark.parametrize(("minor", "within"), [(0, True), (1, False), (-1, False), (250, False)])
def test_m3_within_penny_means_below_one_minor_unit(minor: int, within: bool) -> None:
    assert Money(minor, "USD").within_penny() is within
    assert Money(minor, "USD").is_zero is within


@pytest.mark.parametrize("text", ["1_000.00", "\u0665", "12\u00a0000", "1,5", "0x10", "--1"])
def test_m1_only_plain_ascii_decimal_text_is_an_amount(text: str) -> None:
    """Decimal() itself would accept underscores and non-ASCII digits; amounts must not."""
    with pytest.raises(MoneyError):
        Money.parse(text, "USD")


def test_m1_error_message_does_not_echo_a_huge_input() -> None:
    with pytest.raises(MoneyError) as info:
        Money.parse("9" * 100_000 + "x", "USD")
    assert len(str(info.value)) < 200
