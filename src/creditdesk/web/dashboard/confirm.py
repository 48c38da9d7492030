"""The confirmation step of the memo and invoice actions (P6): before issue, apply, remove
or void, the page shows the preview of ``services/preview`` — journal lines, stock
movements, new statuses and balances, what the customer's portal will show — with Confirm
(a POST to the real action) and Cancel.

Without JavaScript the action's form posts to its ``…/preview`` route and gets a
confirmation page. With htmx the same form posts there too, targeting ``#confirmation`` on
the page it is on, and only the ``confirmation`` block comes back. A refusal is the use
case's own error: the page again with the message next to the form, with or without htmx.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response

from creditdesk.domain import errors
from creditdesk.services.read_models import preview
from creditdesk.web import htmx, templating

TARGET = "confirmation"  # the element (and template block) the htmx forms fill


@dataclass
class Ask:
    """One confirmation: what is asked, where Confirm posts (with which fields) and where
    Cancel goes back to."""

    title: str
    action: str
    button: str
    cancel: str
    section: str
    danger: bool = False
    fields: dict[str, str] = field(default_factory=dict)


def ask(request: Request, *, run: Callable[[], preview.Preview],
        question: Callable[[preview.Preview], Ask],
        refused: Callable[[errors.DomainError], Response]) -> Response:
    """The confirmation of the change ``run`` previews, or its refusal."""
    fragment = htmx.wanted_block(request, TARGET)
    try:
        p = run()
    except errors.DomainError as exc:
        return in_place_of_page(request, refused(exc))
    c = question(p)
    return templating.render(request, "dashboard/confirm.html", {
        "c": c, "p": p, "section": c.section}, block=fragment)


def removal(request: Request, db, actor, *, memo_id: str, invoice_id: str, action: str,
            back: str, section: str,
            refused: Callable[[errors.DomainError], Response]) -> Response:
    """Remove's confirmation, the same from the memo page and from the invoice page."""
    return ask(
        request, run=lambda: preview.remove(db, actor=actor, memo_id=memo_id,
                                            invoice_id=invoice_id),
        question=lambda p: Ask(
            f"Remove the credit of {p.credit_memo.number} from invoice {p.invoice.number}?",
            action, "Remove credit", back, section, danger=True),
        refused=refused)


def in_place_of_page(request: Request, response: Response) -> Response:
    """A refusal: the page again with the message next to its form, as without JavaScript.
    For htmx it replaces the whole page rather than filling the confirmation's place."""
    if htmx.wanted_block(request, TARGET) is not None:
        response.headers["HX-Retarget"] = "body"
        response.headers["HX-Reswap"] = "innerHTML show:[autofocus]:top"
    return response
