"""Turning an engine refusal into what a form shows: the message, the fields it names,
and the HTTP status of ``web/errors.py`` (422 for bad input, 409 for a wrong state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData

from creditdesk.domain import errors
from creditdesk.services import pagination
from creditdesk.web import errors as web_errors
from creditdesk.web.csrf import text


@dataclass
class Refusal:
    form: str  # which form on the page it belongs to
    message: str
    status: int
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def refusal(form: str, exc: errors.DomainError, values: dict[str, str] | None = None) -> Refusal:
    return Refusal(form, exc.detail, web_errors.status_for(exc),
                   {e.field: e.message for e in exc.errors}, values or {})


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
