"""Approvals on the dashboard (AP1): request, approve or reject on a draft's page, the
"Approvals waiting" list, and the thresholds under Team Preferences (administrators)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.services.credit_memos import approvals
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin, User
from creditdesk.web.csrf import CheckedForm, text
from creditdesk.web.dashboard import memos, preferences

router = APIRouter()
WAITING = "/dashboard/approvals"
THRESHOLDS = f"{preferences.ROOT}/approvals"


def _memo_url(memo_id: str) -> str:
    return f"/dashboard/credit-memos/{memo_id}"


@router.post("/credit-memos/{memo_id}/approval-requests")
def request_approval(request: Request, db: DB, actor: User, memo_id: str,
                     form: CheckedForm) -> Response:
    typed = forms.values(form, "comment")
    try:
        approvals.request_approval(db, actor=actor, memo_id=memo_id, comment=typed["comment"])
    except errors.DomainError as exc:
        return memos.memo_page(request, db, actor, memo_id,
                               refusal=forms.refusal("approval", exc, typed))
    templating.flash(request, "Approval requested: another administrator can now approve or "
                     "reject it (it is listed under Approvals).")
    return RedirectResponse(_memo_url(memo_id), status_code=303)


@router.post("/credit-memos/{memo_id}/approval-requests/{request_id}/decide")
def decide(request: Request, db: DB, actor: User, memo_id: str, request_id: str,
           form: CheckedForm) -> Response:
    """Approve or reject (the button pressed: ``decision``), with the comment typed."""
    typed = forms.values(form, "comment")
    decision = text(form, "decision")
    try:
        if decision == "reject":
            done = approvals.reject(db, actor=actor, request_id=request_id,
                                    comment=typed["comment"])
        elif decision == "approve":
            done = approvals.approve(db, actor=actor, request_id=request_id,
                                     comment=typed["comment"])
        else:
            raise errors.ValidationError.for_field("decision", "must be approve or reject")
    except errors.DomainError as exc:
        return memos.memo_page(request, db, actor, memo_id,
                               refusal=forms.refusal("decide", exc, typed))
    verb = "approved: it can be issued now" if done.status == "approved" else "rejected"
    templating.flash(request, f"Credit memo {done.credit_memo_number} {verb}.")
    return RedirectResponse(_memo_url(memo_id), status_code=303)


@router.get("/approvals")
def waiting(request: Request, db: DB, actor: User) -> Response:
    return templating.render(request, "dashboard/approvals.html", {
        "waiting": approvals.waiting(db, actor=actor)})


def _thresholds(request: Request, db: DB, actor, refusal: forms.Refusal | None = None
                ) -> Response:
    return templating.render(request, "dashboard/approval_thresholds.html", {
        "settings": approvals.get_settings(db, actor=actor), "pages": preferences.PAGES,
        "refusal": refusal}, status=refusal.status if refusal else 200)


@router.get("/preferences/approvals")
def thresholds(request: Request, db: DB, actor: Admin) -> Response:
    return _thresholds(request, db, actor)


@router.post("/preferences/approvals")
def set_threshold(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    typed = forms.values(form, "currency", "amount")
    try:
        saved = approvals.change_threshold(db, actor=actor, currency=typed["currency"],
                                           amount=typed["amount"])
    except errors.DomainError as exc:
        return _thresholds(request, db, actor, forms.refusal("threshold", exc, typed))
    cur = typed["currency"].strip().upper()
    amount = next(t.amount for t in saved.thresholds if t.currency == cur)
    templating.flash(request, f"Credit memos in {cur} of {templating.money(amount)} or more now "
                     "need another administrator's approval.")
    return RedirectResponse(THRESHOLDS, status_code=303)


@router.post("/preferences/approvals/{currency}/remove")
def remove_threshold(request: Request, db: DB, actor: Admin, currency: str,
                     _f: CheckedForm) -> Response:
    try:
        approvals.change_threshold(db, actor=actor, currency=currency, amount=None)
    except errors.DomainError as exc:
        return _thresholds(request, db, actor, forms.refusal("threshold", exc))
    templating.flash(request, f"Credit memos in {currency} no longer need an approval.")
    return RedirectResponse(THRESHOLDS, status_code=303)
