"""Turning an engine refusal into what a form shows: the message in words, the fields it
names, and the HTTP status of ``web/errors.py`` (422 for bad input, 409 for a wrong state).

The engine names fields as the API does (``lines[0].description``, ``customer_id``); a
page says "Line 1: enter a description" instead, and names a line by the number the form
shows next to it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from creditdesk.domain import errors
from creditdesk.services.common import pagination
from creditdesk.web import errors as web_errors
from creditdesk.web.csrf import text


@dataclass
class Refusal:
    form: str  # which form on the page it belongs to
    message: str
    status: int
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


# What a field is called on the pages (the rest: its name with spaces).
NAMES = {"unit_price": "unit price", "variant_id": "product variant", "customer_id": "customer",
         "issue_date": "issue date", "invoice_id": "original invoice",
         "invoice_number": "original invoice number", "invoice_line_id": "invoice line",
         "tax_rate_id": "tax rate", "tax_inclusive": "prices include tax"}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
_VERBS = ("is ", "must ", "can", "has ", "needs ", "total ")
_IMPERATIVES = ("choose ", "enter ", "give ", "pick ", "use ", "keep ", "remove ")


def in_words(name: str, message: str, line_number: int | None = None) -> str:
    """One field's problem as a sentence: ("lines[0].description", "is required") →
    "Line 1: enter a description"; ("customer_id", "choose a customer") → "Choose a
    customer". A message that is already a sentence (capitalised) is kept."""
    prefix = f"Line {line_number}: " if line_number is not None else ""
    if message[:1].isupper():
        return message if message.startswith(prefix.strip()) else prefix + message
    noun = NAMES.get(name, name.replace("_", " "))
    if message.startswith("is required"):
        article = "an" if noun[:1] in "aeio" else "a"  # "a unit price"
        text = f"enter {article} {noun}{message[len('is required'):]}"
    elif message.startswith(_IMPERATIVES):
        text = message
    elif message.startswith(_VERBS):
        text = f"the {noun} {message}"
    else:
        text = f"{noun}: {message}"
    return prefix + text if prefix else text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def refusal(form: str, exc: errors.DomainError, values: dict[str, str] | None = None, *,
            rows: Mapping[int, int] | None = None,
            numbers: Mapping[int, int] | None = None) -> Refusal:
    """The refusal of ``exc`` for ``form``, in words. ``rows`` maps the engine's line
    index (``lines[k]``) to the form's row (its inputs are named ``line-{row}-…``) and
    ``numbers`` to the line number the form shows (by default row + 1)."""
    fields: dict[str, str] = {}
    worded: list[str] = []
    for e in exc.errors:
        key, number = e.field, None
        m = _LINE_FIELD.match(e.field)
        if m:
            k, name = int(m[1]), m[2]
            row = rows.get(k, k) if rows is not None else k
            number = numbers.get(k, row + 1) if numbers is not None else row + 1
            key = f"line-{row}-{name}" if rows is not None else e.field
        else:
            name = e.field
        text = in_words(name, e.message, number)
        fields[key] = text
        worded.append(_sentence(text))
    message = exc.detail
    if isinstance(exc, errors.ValidationError) and any(e.field in exc.detail
                                                       for e in exc.errors):
        message = " ".join(dict.fromkeys(worded))  # the engine's detail names field paths
    return Refusal(form, message, web_errors.status_for(exc), fields, values or {})


def values(form: FormData, *names: str) -> dict[str, str]:
    """What the user typed, to put back into the form."""
    return {n: text(form, n) for n in names}


def search(form: FormData, name: str) -> str:
    """A page's search carried along by one of its forms, to show the same list again with
    a refusal; one too long to be a search is dropped rather than refusing that page."""
    value = text(form, name)
    return "" if len(value) > pagination.MAX_SEARCH else value


def optional(value: str) -> str | None:
    return value or None


def whole_number(value: str, max_digits: int = 9) -> int | None:
    """``value`` as a whole number when it is ASCII digits only, at most ``max_digits`` of
    them; else None. (``str.isdigit()`` is true of "²", which ``int()`` refuses, and of "٣",
    which it reads as 3; and ``int()`` of a 5,000-digit string raises.)"""
    if value.isascii() and value.isdigit() and len(value) <= max_digits:
        return int(value)
    return None
