"""Refunds from the memo page (R1, R2, P6): the Refund form and each refund's Void, each with
its confirmation step (the preview), then the change; a refusal shows the memo page again
with the message next to the form that caused it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.domain import refund as refund_rules
from creditdesk.services.credit_memos import refunds
from creditdesk.services.read_models import preview
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm
from creditdesk.web.dashboard import confirm
from creditdesk.web.dashboard.memos import memo_page

router = APIRouter()
FIELDS = ("amount", "method", "refunded_at", "reference")


def _url(memo_id: str) -> str:
    return f"/dashboard/credit-memos/{memo_id}"


def _method(value: str) -> str:
    try:
        return refund_rules.METHOD_NAMES[refund_rules.Method(value)].lower()
    except ValueError:
        return value


def _typed(typed: dict[str, str]) -> dict[str, str | None]:
    """The form's fields as the use case takes them: empty date and reference are none."""
    return {"amount": typed["amount"], "method": typed["method"],
            "refunded_at": forms.optional(typed["refunded_at"]),
            "reference": forms.optional(typed["reference"])}


@router.post("/credit-memos/{memo_id}/refund/preview")
def refund_preview(request: Request, db: DB, actor: User, memo_id: str,
                   form: CheckedForm) -> Response:
    typed = forms.values(form, *FIELDS)
    fields = _typed(typed)

    def question(p: preview.Preview) -> confirm.Ask:
        assert p.memo_before is not None  # found, or the refund was refused
        moved = p.credit_memo.applied_amount - p.memo_before.applied_amount
        return confirm.Ask(
            f"Refund {templating.money(moved)} of {p.credit_memo.number} to "
            f"{p.portal.customer_name} by {_method(typed['method'])}?",
            _url(memo_id) + "/refund", "Record the refund", _url(memo_id), "memos",
            fields=typed)

    return confirm.ask(
        request, run=lambda: preview.refund(db, actor=actor, memo_id=memo_id, **fields),
        question=question,
        refused=lambda exc: memo_page(request, db, actor, memo_id,
                                      refusal=forms.refusal("refund", exc, typed)))


@router.post("/credit-memos/{memo_id}/refund")
def refund(request: Request, db: DB, actor: User, memo_id: str, form: CheckedForm) -> Response:
    typed = forms.values(form, *FIELDS)
    try:
        fields = _typed(typed)
        done = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount=fields["amount"],
                                   method=fields["method"], refunded_at=fields["refunded_at"],
                                   reference=fields["reference"])
    except errors.DomainError as exc:
        return memo_page(request, db, actor, memo_id,
                         refusal=forms.refusal("refund", exc, typed))
    templating.flash(request, f"Refunded {templating.money(done.refund.amount)} of "
                              f"{done.credit_memo.number} by {_method(done.refund.method)}.")
    return RedirectResponse(_url(memo_id), status_code=303)


@router.post("/credit-memos/{memo_id}/refunds/{refund_id}/void/preview")
def void_refund_preview(request: Request, db: DB, actor: User, memo_id: str, refund_id: str,
                        _f: CheckedForm) -> Response:
    return confirm.ask(
        request, run=lambda: preview.void_refund(db, actor=actor, memo_id=memo_id,
                                                 refund_id=refund_id),
        question=lambda p: confirm.Ask(
            f"Void this refund of {p.credit_memo.number}? The credit returns to the memo.",
            f"{_url(memo_id)}/refunds/{refund_id}/void", "Void the refund", _url(memo_id),
            "memos", danger=True),
        refused=lambda exc: memo_page(request, db, actor, memo_id,
                                      refusal=forms.refusal("refund-void", exc)))


@router.post("/credit-memos/{memo_id}/refunds/{refund_id}/void")
def void_refund(request: Request, db: DB, actor: User, memo_id: str, refund_id: str,
                _f: CheckedForm) -> Response:
    try:
        done = refunds.void_refund(db, actor=actor, memo_id=memo_id, refund_id=refund_id)
    except errors.DomainError as exc:
        return memo_page(request, db, actor, memo_id, refusal=forms.refusal("refund-void", exc))
    templating.flash(request, f"Refund of {templating.money(done.refund.amount)} voided; the "
                              f"credit is back on {done.credit_memo.number}.")
    return RedirectResponse(_url(memo_id), status_code=303)
