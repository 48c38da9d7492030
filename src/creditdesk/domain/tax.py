"""Tax rates and the tax of a line (T1-T3): pure, exact integer arithmetic.

A rate is a percent with up to four decimal places, kept as an integer count of
ten-thousandths of a percent (``7.25`` % -> 72_500), so every computation is exact. A rate
is simple (one percentage) or compound: components whose percentages add (state + county;
no tax on tax). Tax is computed per line and per component, each rounded half-up to the
currency's minor unit (T2):

- exclusive prices (the default): the line's amount is its net; tax_i = net x r_i;
- inclusive prices (per document): the amount is gross; tax_i = gross x r_i / (1 + r),
  r the rate's whole percentage, and net = gross - sum(tax_i).

A memo line crediting an invoice line (T3) carries the tax of the amount it credits,
computed the same way, except that the line completing the invoice line (its amount
reaches what is left to credit of it) takes exactly the tax left: however many memos
credit a line, their taxes add up to the line's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from creditdesk.domain import errors

PLACES = 4
SCALE = 10**PLACES  # ten-thousandths of a percent in one percent
HUNDRED_PERCENT = 100 * SCALE
MAX_RATE = HUNDRED_PERCENT  # no sales tax above 100 %
MAX_NAME = 100
MAX_COMPONENTS = 10


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (denominator > 0)."""
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def parse_percent(value: object, field: str) -> int:
    """A percent given as a decimal string (or a JSON number) with at most four places,
    from 0 to 100, as ten-thousandths of a percent."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        if isinstance(value, float):
            value = repr(value)
        else:
            raise errors.ValidationError.for_field(
                field, "must be a percent as a decimal string, e.g. \"7.25\"")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise errors.ValidationError.for_field(
            field, "must be a percent as a decimal string, e.g. \"7.25\"") from None
    if not number.is_finite():
        raise errors.ValidationError.for_field(field, "must be a finite number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -PLACES and number != number.quantize(Decimal(1).scaleb(-PLACES)):
        raise errors.ValidationError.for_field(
            field, f"must have at most {PLACES} decimal places")
    if not 0 <= number <= 100:
        raise errors.ValidationError.for_field(field, "must be from 0 to 100 (percent)")
    return int(number * SCALE)


def percent_text(rate: int) -> str:
    """Ten-thousandths of a percent as the percent's shortest exact text ("7.25")."""
    text = str(Decimal(rate) / SCALE)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def parse_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError.for_field(field, "is required")
    if len(value.strip()) > MAX_NAME:
        raise errors.ValidationError.for_field(field, f"must be at most {MAX_NAME} characters")
    return value.strip()


@dataclass(frozen=True)
class Component:
    name: str
    rate: int  # ten-thousandths of a percent


@dataclass(frozen=True)
class Rate:
    """A named rate: one component (simple), or several whose percentages add."""

    name: str
    components: tuple[Component, ...]

    @property
    def rate(self) -> int:
        return sum(c.rate for c in self.components)

    @property
    def compound(self) -> bool:
        return len(self.components) > 1


def parse_rate(name: object, rate: object, components: object) -> Rate:
    """T1: a rate's name and either its percent or its components (not both)."""
    parsed_name = parse_name(name, "name")
    if rate is not None and components is not None:
        raise errors.ValidationError.for_field(
            "rate", "give either rate or components, not both")
    if rate is None and components is None:
        raise errors.ValidationError.for_field(
            "rate", "is required (or components, for a rate made of several)")
    if rate is not None:
        return Rate(parsed_name, (Component(parsed_name, parse_percent(rate, "rate")),))
    if not isinstance(components, list) or not components:
        raise errors.ValidationError.for_field("components", "must list at least one component")
    if len(components) > MAX_COMPONENTS:
        raise errors.ValidationError.for_field(
            "components", f"must have at most {MAX_COMPONENTS} components")
    parsed: list[Component] = []
    problems: list[errors.FieldError] = []
    for i, raw in enumerate(components):
        field = f"components[{i}]"
        if not isinstance(raw, dict):
            problems.append(errors.FieldError(field, "must be an object with name and rate"))
            continue
        got: list[object] = []
        for parse, key in ((parse_name, "name"), (parse_percent, "rate")):
            try:
                got.append(parse(raw.get(key), f"{field}.{key}"))
            except errors.ValidationError as exc:
                problems.extend(exc.errors)
        if len(got) == 2:
            name_, rate_ = got
            assert isinstance(name_, str) and isinstance(rate_, int)
            parsed.append(Component(name_, rate_))
    if problems:
        raise errors.ValidationError("; ".join(f"{p.field} {p.message}" for p in problems),
                                     errors=problems)
    names = [c.name.casefold() for c in parsed]
    if len(set(names)) != len(names):
        raise errors.ValidationError.for_field("components", "component names must differ")
    result = Rate(parsed_name, tuple(parsed))
    if result.rate > MAX_RATE:
        raise errors.ValidationError.for_field("components", "must add up to at most 100 %")
    return result


@dataclass(frozen=True)
class LineTax:
    """A line's net and tax, in minor units (amount = net + tax when inclusive, = net when
    exclusive)."""

    net: int
    tax: int


def component_taxes(amount: int, rate: Rate, *, inclusive: bool) -> list[int]:
    """T2: each component's tax on ``amount`` (minor units), rounded half-up."""
    if inclusive:
        denominator = HUNDRED_PERCENT + rate.rate
        return [_half_up(amount * c.rate, denominator) for c in rate.components]
    return [_half_up(amount * c.rate, HUNDRED_PERCENT) for c in rate.components]


def line_tax(amount: int, rate: Rate | None, *, inclusive: bool) -> LineTax:
    """T2: a line's net and tax; no rate, no tax."""
    if rate is None:
        return LineTax(amount, 0)
    tax = sum(component_taxes(amount, rate, inclusive=inclusive))
    return LineTax(amount - tax if inclusive else amount, tax)


@dataclass(frozen=True)
class Remaining:
    """What is left to credit of an invoice line: its amount (as entered: net when
    exclusive, gross when inclusive) and its tax, less what other memo lines took."""

    amount: int
    tax: int


def credited_line_tax(amount: int, rate: Rate | None, *, inclusive: bool,
                      remaining: Remaining) -> LineTax:
    """T3: the tax of a memo line crediting ``amount`` of an invoice line of which
    ``remaining`` is left: the line that completes it takes exactly the tax left; any other
    carries the tax of its own amount (T2), as T3 says, even when small parts each rounding
    up have by then credited more than the line's tax (the completing one then takes a
    negative remainder: see docs/decisions.md)."""
    if amount == remaining.amount:
        return LineTax(amount - remaining.tax if inclusive else amount, remaining.tax)
    return line_tax(amount, rate, inclusive=inclusive)


@dataclass(frozen=True)
class DocumentTotals:
    """T2: Σ net, Σ tax, total = Σ net + Σ tax, and the tax per rate (in first-seen order)."""

    subtotal: int
    tax: int
    by_rate: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return self.subtotal + self.tax


def document_totals(lines: list[tuple[str | None, LineTax]]) -> DocumentTotals:
    """``lines`` pairs each line's rate id (None: untaxed) with its figures."""
    per_rate: dict[str, int] = {}
    for rate_id, figures in lines:
        if rate_id is not None:
            per_rate[rate_id] = per_rate.get(rate_id, 0) + figures.tax
    return DocumentTotals(sum(f.net for _, f in lines), sum(f.tax for _, f in lines),
                          tuple(per_rate.items()))
