"""Invoice and memo lines: exact amounts and their validation (I2, C1, C4, M2)."""

from __future__ import annotations

from dataclasses import dataclass

from creditdesk.domain import errors, money
from creditdesk.domain.money import Money

MAX_QUANTITY = 1_000_000
MAX_DESCRIPTION = 500
MAX_LINES = 500


@dataclass(frozen=True)
class Line:
    """A line as entered: whole quantity times an exact unit price; a memo line started
    from an invoice (C6) names the invoice line it credits."""

    description: str
    quantity: int
    unit_price: Money
    variant_id: str | None = None
    invoice_line_id: str | None = None
    tax_rate_id: str | None = None  # T1: the line's tax rate, if any

    @property
    def amount(self) -> Money:
        return self.unit_price.times(self.quantity)


def parse_line(raw: dict[str, object], currency: str, field: str) -> Line:
    """Validate one raw line (description, quantity, unit_price, variant_id?)."""
    problems: list[errors.FieldError] = []
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append(errors.FieldError(f"{field}.description", "is required"))
    elif len(description) > MAX_DESCRIPTION:
        problems.append(errors.FieldError(f"{field}.description",
                                          f"must be at most {MAX_DESCRIPTION} characters"))
    quantity = raw.get("quantity")
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        problems.append(errors.FieldError(
            f"{field}.quantity", f"must be a whole number from 1 to {MAX_QUANTITY:,}"))
    unit_price = None
    if raw.get("unit_price") is None:
        problems.append(errors.FieldError(f"{field}.unit_price", "is required"))
    else:
        try:
            unit_price = Money.parse_positive(raw.get("unit_price"), currency)
        except money.MoneyError as exc:
            problems.append(errors.FieldError(f"{field}.unit_price", str(exc)))
    variant_id = raw.get("variant_id")
    if variant_id is not None and not isinstance(variant_id, str):
        problems.append(errors.FieldError(f"{field}.variant_id", "must be a variant id"))
    invoice_line_id = raw.get("invoice_line_id")
    if invoice_line_id is not None and not isinstance(invoice_line_id, str):
        problems.append(errors.FieldError(f"{field}.invoice_line_id",
                                          "must be an invoice line id"))
    tax_rate_id = raw.get("tax_rate_id")
    if tax_rate_id is not None and not isinstance(tax_rate_id, str):
        problems.append(errors.FieldError(f"{field}.tax_rate_id", "must be a tax rate id"))
    if problems:
        raise errors.ValidationError(
            "; ".join(f"{p.field} {p.message}" for p in problems), errors=problems)
    assert unit_price is not None and isinstance(description, str) and type(quantity) is int
    assert tax_rate_id is None or isinstance(tax_rate_id, str)
    assert variant_id is None or isinstance(variant_id, str)
    assert invoice_line_id is None or isinstance(invoice_line_id, str)
    line = Line(description.strip(), quantity, unit_price, variant_id, invoice_line_id,
                tax_rate_id)
    check_total(line.amount, f"{field}.amount")
    return line


def parse_lines(raw_lines: object, currency: str) -> list[Line]:
    """Validate every line, reporting all problems at once; at least one line."""
    if not isinstance(raw_lines, list) or not raw_lines:
        raise errors.ValidationError.for_field("lines", "must list at least one line")
    if len(raw_lines) > MAX_LINES:
        raise errors.ValidationError.for_field("lines", f"must have at most {MAX_LINES} lines")
    parsed, problems = [], []
    for i, raw in enumerate(raw_lines):
        try:
            if not isinstance(raw, dict):
                raise errors.ValidationError.for_field(f"lines[{i}]", "must be an object")
            parsed.append(parse_line(raw, currency, f"lines[{i}]"))
        except errors.ValidationError as exc:
            problems.extend(exc.errors)
    if problems:
        raise errors.ValidationError(
            "; ".join(f"{p.field} {p.message}" for p in problems), errors=problems)
    check_total(total_of(parsed, currency), "lines")
    return parsed


def total_of(lines: list[Line], currency: str) -> Money:
    total = Money.zero(currency)
    for line in lines:
        total = total + line.amount
    return total


def check_total(total: Money, field: str) -> None:
    """M2: a total must stay within the maximum amount."""
    if total.to_decimal() > money.MAX_MAJOR:
        raise errors.ValidationError.for_field(field, f"total must not exceed {money.MAX_MAJOR:,}")
