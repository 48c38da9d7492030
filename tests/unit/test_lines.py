"""Lines are validated per field, with paths like lines[1].quantity, and total exactly (I2, C4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditdesk.domain import errors, lines
from creditdesk.domain.lines import MAX_DESCRIPTION, MAX_LINES, MAX_QUANTITY, Line
from creditdesk.domain.money import Money


def good(**overrides: object) -> dict:
    return {"description": "Widget", "quantity": 1, "unit_price": "10.00", **overrides}


def refused(raw_lines: object, currency: str = "USD") -> errors.ValidationError:
    with pytest.raises(errors.ValidationError) as caught:
        lines.parse_lines(raw_lines, currency)  # type: ignore[arg-type]
    assert caught.value.code == "validation_error"
    for problem in caught.value.errors:
        assert problem.field in caught.value.detail
    return caught.value


def fields(error: errors.ValidationError) -> list[str]:
    return [e.field for e in error.errors]


def test_i2_c4_lines_parse_into_exact_amounts() -> None:
    parsed = lines.parse_lines([
        {"description": "  Returned router  ", "quantity": 3, "unit_price": "19.99",
         "variant_id": "var_1"},
        {"description": "Rounding fee", "quantity": 1, "unit_price": "0.03"},
    ], "USD")
    assert parsed == [Line("Returned router", 3, Money(1999, "USD"), "var_1"),
                      Line("Rounding fee", 1, Money(3, "USD"), None)]
    assert parsed[0].amount == Money(5997, "USD")
    assert lines.total_of(parsed, "USD") == Money(6000, "USD")


def test_c4_total_is_exact_where_floats_drift() -> None:
    parsed = lines.parse_lines([good(unit_price="0.10", quantity=1)] * 3, "USD")
    assert lines.total_of(parsed, "USD") == Money.parse("0.30", "USD")


def test_c4_total_of_no_lines_is_zero() -> None:
    assert lines.total_of([], "JPY") == Money(0, "JPY")


@given(st.lists(st.tuples(st.integers(1, MAX_QUANTITY), st.integers(1, 10**7)),
                min_size=1, max_size=20))
def test_c4_memo_total_is_the_exact_sum_of_its_lines(items: list[tuple[int, int]]) -> None:
    raw = [good(quantity=q, unit_price=Money(p, "KWD").to_str()) for q, p in items]
    parsed = lines.parse_lines(raw, "KWD")
    assert lines.total_of(parsed, "KWD") == Money(sum(q * p for q, p in items), "KWD")


@pytest.mark.parametrize("raw_lines", [[], None, {}, "lines", ({"description": "x"},)])
def test_c4_lines_must_be_a_non_empty_list(raw_lines: object) -> None:
    assert fields(refused(raw_lines)) == ["lines"]


def test_i2_at_most_max_lines() -> None:
    lines.parse_lines([good()] * MAX_LINES, "USD")
    assert fields(refused([good()] * (MAX_LINES + 1))) == ["lines"]


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, 1.5, 1.0, "2", True, None])
def test_i2_quantity_is_a_whole_number_in_range(quantity: object) -> None:
    error = refused([good(), good(quantity=quantity)])
    assert fields(error) == ["lines[1].quantity"]
    assert "whole number" in error.errors[0].message


@pytest.mark.parametrize("quantity", [1, MAX_QUANTITY])
def test_i2_quantity_bounds_are_accepted(quantity: int) -> None:
    assert lines.parse_lines([good(quantity=quantity)], "USD")[0].quantity == quantity


@pytest.mark.parametrize("description",
                         [None, "", "   ", 5, ["Widget"], "x" * (MAX_DESCRIPTION + 1)])
def test_i2_description_is_required_and_bounded(description: object) -> None:
    assert fields(refused([good(description=description)])) == ["lines[0].description"]


def test_i2_description_missing_is_reported() -> None:
    raw = good()
    del raw["description"]
    assert fields(refused([raw])) == ["lines[0].description"]


def test_i2_description_up_to_the_maximum_is_accepted() -> None:
    text = "x" * MAX_DESCRIPTION
    assert lines.parse_lines([good(description=text)], "USD")[0].description == text


@pytest.mark.parametrize(("unit_price", "says"), [
    ("0", "greater than zero"), ("-1.00", "greater than zero"), (1.5, "float"),
    ("abc", "not a decimal amount"), ("0.001", "at most 2 decimal"), (None, "is required"),
    ("1000000000000", "must not exceed"), ("1e999999999", "must not exceed"),
])
def test_m1_m2_unit_price_is_a_positive_exact_amount(unit_price: object, says: str) -> None:
    error = refused([good(unit_price=unit_price)])
    assert fields(error) == ["lines[0].unit_price"]
    assert says in error.errors[0].message


def test_m1_unit_price_digits_follow_the_currency() -> None:
    assert fields(refused([good(unit_price="1.5")], "JPY")) == ["lines[0].unit_price"]
    assert lines.parse_lines([good(unit_price="150")], "JPY")[0].unit_price == Money(150, "JPY")
    assert lines.parse_lines([good(unit_price="1.5")], "KWD")[0].unit_price == Money(1500, "KWD")


@pytest.mark.parametrize("variant_id", [5, ["var_1"], {"id": "var_1"}])
def test_i2_variant_id_when_given_is_an_id(variant_id: object) -> None:
    assert fields(refused([good(), good(), good(variant_id=variant_id)])) == [
        "lines[2].variant_id"]


@pytest.mark.parametrize("raw", ["Widget", 5, None, ["Widget", 1, "1.00"]])
def test_i2_each_line_is_an_object(raw: object) -> None:
    error = refused([good(), raw])
    assert fields(error) == ["lines[1]"]
    assert error.errors[0].message == "must be an object"


def test_i2_every_bad_field_of_a_line_is_reported_at_once() -> None:
    bad = {"description": "", "quantity": 0, "unit_price": "x", "variant_id": 7}
    assert fields(refused([bad])) == ["lines[0].description", "lines[0].quantity",
                                      "lines[0].unit_price", "lines[0].variant_id"]


def test_i2_bad_fields_across_lines_are_all_reported() -> None:
    error = refused([good(quantity=0), good(), "nope", good(unit_price="0.001", description=" ")])
    assert fields(error) == ["lines[0].quantity", "lines[2]", "lines[3].description",
                             "lines[3].unit_price"]


def test_m2_a_line_amount_above_the_maximum_is_refused() -> None:
    error = refused([good(), good(unit_price="999999999999", quantity=2)])
    assert fields(error) == ["lines[1].amount"]
    assert "must not exceed 999,999,999,999" in error.errors[0].message


def test_m2_a_line_amount_at_the_maximum_is_accepted() -> None:
    parsed = lines.parse_lines([good(unit_price="333333333333", quantity=3)], "USD")
    assert lines.total_of(parsed, "USD") == Money.parse("999999999999", "USD")


def test_c4_m2_a_total_of_lines_above_the_maximum_is_refused() -> None:
    error = refused([good(unit_price="600000000000"), good(unit_price="400000000000")])
    assert fields(error) == ["lines"]
    assert "must not exceed 999,999,999,999" in error.errors[0].message


def test_c4_m2_a_total_of_lines_at_the_maximum_is_accepted() -> None:
    parsed = lines.parse_lines([good(unit_price="600000000000"),
                                good(unit_price="399999999998.99"),
                                good(unit_price="0.01")], "USD")
    assert lines.total_of(parsed, "USD") == Money.parse("999999999999", "USD")


def test_m2_check_total_refuses_one_minor_unit_above_the_maximum() -> None:
    lines.check_total(Money.parse("999999999999", "KWD"), "amount")
    with pytest.raises(errors.ValidationError) as caught:
        lines.check_total(Money(999_999_999_999_001, "KWD"), "amount")
    assert fields(caught.value) == ["amount"]
