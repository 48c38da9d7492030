"""Exact money: integer minor units with a currency (M1, M2, M3).

``Money`` is immutable; + and - work only within one currency. Parsing rejects more
digits than the currency has instead of rounding, and never goes through a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded

from creditdesk.domain import currencies

# M2: amounts a user enters are at most this many major units.
MAX_MAJOR = 999_999_999_999

_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def _short(value: object, limit: int = 40) -> str:
    """An input as shown in an error message: never a hostile 100 kB string."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class MoneyError(ValueError):
    """An amount or currency that cannot be accepted; the message says why."""


def check_currency(code: object) -> str:
    """Return ``code`` if it is a known ISO 4217 code, else raise MoneyError."""
    if not isinstance(code, str) or not currencies.is_known(code):
        raise MoneyError(f"{code!r} is not a supported ISO 4217 currency code (e.g. USD, EUR)")
    return code


# Currencies shown with a symbol; every other one with its code after the number.
SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "JPY": "¥"}


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount of ``currency`` counted in its minor units (cents for USD)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:  # bool and float are both refused
            raise TypeError("Money.minor must be an int")
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, value: object, currency: str) -> Money:
        """Parse a decimal string, int or Decimal exactly into ``currency`` (M1).

        Floats are refused: they cannot carry an exact decimal amount.
        """
        return cls(parse_minor(value, currency), currency)

    @classmethod
    def parse_positive(cls, value: object, currency: str) -> Money:
        """Parse an amount a user enters: exact (M1), > 0 and <= the maximum (M2)."""
        money = cls.parse(value, currency)
        if money.minor <= 0:
            raise MoneyError("must be greater than zero")
        return money

    # arithmetic -------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def times(self, quantity: int) -> Money:
        """The amount of ``quantity`` units at this unit price (exact)."""
        if type(quantity) is not int:
            raise TypeError("quantity must be an int")
        return Money(self.minor * quantity, self.currency)

    @property
    def is_zero(self) -> bool:
        return self.minor == 0

    def within_penny(self) -> bool:
        """M3: the absolute value is below one minor unit (always exact here)."""
        return abs(self.minor) < 1

    def to_decimal(self) -> Decimal:
        # From the exact string: scaleb() would round to the context's 28 digits (M1).
        return Decimal(self.to_str())

    def to_str(self) -> str:
        """Decimal string with exactly the currency's minor digits: ``"60.00"``."""
        return minor_text(self.minor, self.currency)

    def shown(self) -> str:
        """``$1,234.50``, ``CA$12.00``, ``1,000.500 KWD``: the one way amounts are shown to
        people, on pages and in messages."""
        text = self.to_str()
        sign = "\u2212" if text.startswith("-") else ""
        whole, _, frac = text.lstrip("-").partition(".")
        number = f"{int(whole):,}" + (f".{frac}" if frac else "")
        symbol = SYMBOLS.get(self.currency)
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {self.currency}"

    def __str__(self) -> str:
        # Refusals name amounts as the page shows them ("only $3,390.00 remains"), so
        # formatting a Money into a message is this.
        return self.shown()


def minor_text(minor: int, currency: str) -> str:
    """``Money(minor, currency).to_str()`` without building the Money: what a CSV export
    (D3) writes four times a row, a million rows at a time. KeyError for an unknown code."""
    digits = currencies.minor_digits(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"


def parse_minor(value: object, currency: str) -> int:
    """``Money.parse(value, currency).minor`` without building the Money: what the sync
    connectors call four times a record (B6)."""
    check_currency(currency)
    if isinstance(value, (bool, float)):
        raise MoneyError("must be a decimal string such as \"60.00\", not a binary float")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        # ASCII digits only: Decimal() would also take "1_000" and Arabic-Indic digits.
        if not _DECIMAL_TEXT.fullmatch(text):
            raise MoneyError(f"{_short(value)!r} is not a decimal amount such as \"60.00\"")
        try:
            amount = Decimal(text)
        except InvalidOperation:  # an exponent beyond what Decimal can hold
            raise MoneyError(f"{_short(value)!r} is out of range") from None
    else:
        raise MoneyError("must be a decimal amount such as \"60.00\"")
    if not amount.is_finite():
        raise MoneyError("must be a finite decimal amount")
    return _to_minor(amount, currency, value)


_MAX_DIGITS = len(str(MAX_MAJOR))
# Never rounds: Inexact and Rounded raise (whatever the thread's own context says).
_EXACT = Context(prec=40, traps=[Inexact, Rounded])


def _to_minor(amount: Decimal, currency: str, shown: object) -> int:
    """Exact minor units of ``amount``, working on its digits so that no Decimal context
    (precision, exponent limits) can round or overflow a hostile input like ``1e-999999``."""
    digits = currencies.minor_digits(currency)
    if amount.adjusted() < _MAX_DIGITS:
        # The common case ("60.00", 250): below 10^12 major units and no non-zero digit
        # below the minor unit; _EXACT refuses to round, and the hostile cases fall through.
        try:
            scaled = amount.scaleb(digits, context=_EXACT)
        except ArithmeticError:
            scaled = None
        if scaled is not None and (minor := int(scaled)) == scaled:
            if abs(minor) > MAX_MAJOR * 10**digits:
                raise MoneyError(f"must not exceed {MAX_MAJOR:,}")
            return minor
    sign, coefficient, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    coeff = list(coefficient)
    # Trailing zeros ("60.000") are exact and accepted; a non-zero extra digit is not.
    while exponent < 0 and len(coeff) > 1 and coeff[-1] == 0:
        coeff.pop()
        exponent += 1
    if all(d == 0 for d in coeff):
        return 0
    if -exponent > digits:
        places = "place" if digits == 1 else "places"
        raise MoneyError(
            f"{currency} amounts have at most {digits} decimal {places}; {_short(shown)} has more")
    if len(coeff) + exponent > _MAX_DIGITS:
        raise MoneyError(f"must not exceed {MAX_MAJOR:,}")
    # exponent + digits >= 0 here (checked above), so the power is an int; typeshed types
    # int ** int as Any because a negative exponent would make a float.
    scale: int = 10 ** (exponent + digits)
    minor = int("".join(map(str, coeff))) * scale
    if minor > MAX_MAJOR * 10**digits:
        raise MoneyError(f"must not exceed {MAX_MAJOR:,}")
    return -minor if sign else minor


def minor_to_str(minor: int, currency: str) -> str:
    """Format stored minor units as the wire's decimal string."""
    return Money(minor, currency).to_str()
