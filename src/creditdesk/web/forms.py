"""Turning an engine refusal into what a form shows: the message, the fields it names,
and the HTTP status of ``web/errors.py`` (422 for bad input, 409 for a wrong state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData

from creditdesk.domain import errors
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


def optional(value: str) -> str | None:
    return value or None
