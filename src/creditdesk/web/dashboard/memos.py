"""Credit memo list and memo page, with the memo's actions: issue, apply, remove, void,
delete (P1; the rules are the services', the page shows their refusals)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.credit_memos import approvals, credit, memo_lifecycle, memos
from creditdesk.services.documents import deliveries
from creditdesk.services.read_models import pages, preview
from creditdesk.web import forms, htmx, list_links, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm
from creditdesk.web.dashboard import confirm, credit_notices

router = APIRouter()
TABS = ["", "draft", "issued", "partially_applied", "applied", "void"]
PAGE_SIZE = 25


@router.get("/credit-memos")
def memo_list(request: Request, db: DB, actor: User, status: str = "", customer_id: str = "",
              source: str = "", has_remaining: str = "", q: str = "", sort: str = "",
              cursor: str | None = None) -> Response:
    filters = {"status": status if status in TABS else "", "customer_id": customer_id,
               "source": source, "has_remaining": has_remaining, "q": q, "sort": sort}
    page = pages.memo_list(db, actor=actor, statuses=[status] if status else None,
                           customer_id=customer_id or None, source=source or None,
                           has_remaining=True if has_remaining else None, q=q or None,
                           sort=sort or None, limit=PAGE_SIZE, cursor=cursor or None)
    path = "/dashboard/credit-memos"
    links = {"tabs": {t: list_links.url(path, filters, status=t, cursor="") for t in TABS},
             "sort": list_links.columns(path, filters, memos.SORT_KEYS,
                                        frozenset({"date", "total", "remaining"})),
             "first": list_links.url(path, filters, cursor=""),
             # D3: every memo these filters match, not only this page (the sort is not kept)
             "export": list_links.url(f"{path}/export", filters, sort="", cursor=""),
             "next": (list_links.url(path, filters, cursor=page.next_cursor)
                      if page.next_cursor else "")}
    return templating.render(request, "dashboard/memos.html", {
        "page": page, "filters": filters, "tabs": TABS, "links": links,
        "customers": pages.customer_choices(db, actor=actor), "cursor": cursor},
        block=htmx.wanted_block(request, "memo-results"))


def memo_page(request: Request, db: DB, actor, memo_id: str, *,
              refusal: forms.Refusal | None = None, invoice_q: str = "") -> Response:
    """The memo page; with a refusal, the page again with the message next to its form
    (a missing memo, or another partner's, is still a 404 page)."""
    page = pages.memo_page(db, actor=actor, memo_id=memo_id, invoice_q=invoice_q or None)
    has_pdf = page.memo.status != memo_rules.MemoStatus.DRAFT  # D1
    return templating.render(request, "dashboard/memo.html", {
        "p": page, "m": page.memo, "refusal": refusal, "invoice_q": invoice_q,
        "approval": approvals.panel(db, actor=actor, memo=page.memo),
        "has_pdf": has_pdf, "sendable": has_pdf and page.memo.status != "void",  # D2
        "deliveries": (deliveries.list_deliveries(db, actor=actor, memo_id=memo_id)
                       if has_pdf else [])},
        status=refusal.status if refusal else 200)


@router.get("/credit-memos/{memo_id}")
def memo_detail(request: Request, db: DB, actor: User, memo_id: str,
                invoice_q: str = "") -> Response:
    return memo_page(request, db, actor, memo_id, invoice_q=invoice_q)


def _done(request: Request, url: str, message: str) -> Response:
    templating.flash(request, message)
    return RedirectResponse(url, status_code=303)


def _url(memo_id: str) -> str:
    return f"/dashboard/credit-memos/{memo_id}"


@router.post("/credit-memos/{memo_id}/issue")
def issue(request: Request, db: DB, actor: User, memo_id: str, _f: CheckedForm) -> Response:
    try:
        m = memo_lifecycle.issue_memo(db, actor=actor, memo_id=memo_id)
    except errors.DomainError as exc:
        return memo_page(request, db, actor, memo_id, refusal=forms.refusal("issue", exc))
    return _done(request, _url(m.id), f"Credit memo {m.number} issued.")


@router.post("/credit-memos/{memo_id}/apply")
def apply(request: Request, db: DB, actor: User, memo_id: str, form: CheckedForm) -> Response:
    typed = forms.values(form, "invoice_id", "amount")
    try:
        done = credit.apply_credit_only(db, actor=actor, memo_id=memo_id,
                                        invoice_id=typed["invoice_id"], amount=typed["amount"])
    except errors.DomainError as exc:
        return memo_page(request, db, actor, memo_id,
                         refusal=forms.refusal("apply", exc, typed),
                         invoice_q=forms.search(form, "invoice_q"))
    return _done(request, _url(memo_id), credit_notices.applied(request, done))


@router.post("/credit-memos/{memo_id}/applications/{invoice_id}/remove")
def remove(request: Request, db: DB, actor: User, memo_id: str, invoice_id: str,
           _f: CheckedForm) -> Response:
    try:
        done = credit.remove_credit_only(db, actor=actor, memo_id=memo_id,
                                         invoice_id=invoice_id)
    except errors.DomainError as exc:
        return memo_page(request, db, actor, memo_id, refusal=forms.refusal("remove", exc))
    return _done(request, _url(memo_id), credit_notices.removed(request, done))


@router.post("/credit-memos/{memo_id}/applications/{application_id}/retry")
def retry(request: Request, db: DB, actor: User, memo_id: str, application_id: str,
          _f: CheckedForm) -> Response:
    """Y12: send a failed write-back again."""
    try:
        credit.retry_write_back(db, actor=actor, memo_id=memo_id,
                                application_id=application_id)
    except errors.DomainError as exc:
        return memo_page(request, db, actor, memo_id, refusal=forms.refusal("remove", exc))
    sync_jobs.wake(request.app.state)
    return _done(request, _url(memo_id), "Sent again; it shows as pending until it answers.")


def apply_question(p: preview.Preview, amount: str) -> str:
    """The confirmation's question. Synced credit (Y11) is sent to its system: the
    figures stay the system's until it answers, so the amount is the one typed (the use
    case accepted it)."""
    if p.credit_memo.read_only:
        sent = Money.parse_positive(amount, p.credit_memo.currency)
        return (f"Send {templating.money(sent)} of {p.credit_memo.number} to invoice "
                f"{p.invoice.number} in {_system(p.credit_memo.source)}? It shows as pending "
                "until it answers.")
    moved = p.credit_memo.applied_amount - p.memo_before.applied_amount
    return (f"Apply {templating.money(moved)} of {p.credit_memo.number} to invoice "
            f"{p.invoice.number}?")


def _system(source: str) -> str:
    return memo_rules.SOURCE_NAMES[memo_rules.Source(source)]


@router.post("/credit-memos/{memo_id}/void")
def void(request: Request, db: DB, actor: User, memo_id: str, form: CheckedForm) -> Response:
    typed = forms.values(form, "reason")
    try:
        m = memo_lifecycle.void_memo(db, actor=actor, memo_id=memo_id, reason=typed["reason"])
    except errors.DomainError as exc:
        return memo_page(request, db, actor, memo_id, refusal=forms.refusal("void", exc, typed))
    return _done(request, _url(m.id), f"Credit memo {m.number} voided.")


@router.post("/credit-memos/{memo_id}/delete")
def delete(request: Request, db: DB, actor: User, memo_id: str, _f: CheckedForm) -> Response:
    try:
        number = memos.get_memo(db, actor=actor, memo_id=memo_id).number
        memos.delete_memo(db, actor=actor, memo_id=memo_id)
    except errors.DomainError as exc:
        return memo_page(request, db, actor, memo_id, refusal=forms.refusal("delete", exc))
    return _done(request, "/dashboard/credit-memos", f"Draft {number} deleted.")


# --- the confirmation step of each action (P6) ----------------------------------------

@router.post("/credit-memos/{memo_id}/issue/preview")
def issue_preview(request: Request, db: DB, actor: User, memo_id: str,
                  _f: CheckedForm) -> Response:
    return confirm.ask(
        request, run=lambda: preview.issue(db, actor=actor, memo_id=memo_id),
        question=lambda p: confirm.Ask(
            f"Issue credit memo {p.credit_memo.number}?", _url(memo_id) + "/issue",
            f"Issue {p.credit_memo.number}", _url(memo_id), "memos"),
        refused=lambda exc: memo_page(request, db, actor, memo_id,
                                      refusal=forms.refusal("issue", exc)))


@router.post("/credit-memos/{memo_id}/apply/preview")
def apply_preview(request: Request, db: DB, actor: User, memo_id: str,
                  form: CheckedForm) -> Response:
    typed = forms.values(form, "invoice_id", "amount")
    invoice_q = forms.search(form, "invoice_q")
    return confirm.ask(
        request, run=lambda: preview.apply(db, actor=actor, memo_id=memo_id,
                                           invoice_id=typed["invoice_id"],
                                           amount=typed["amount"]),
        question=lambda p: confirm.Ask(
            apply_question(p, typed["amount"]),
            _url(memo_id) + "/apply", "Apply credit", _url(memo_id), "memos",
            fields={**typed, "invoice_q": invoice_q}),
        refused=lambda exc: memo_page(request, db, actor, memo_id,
                                      refusal=forms.refusal("apply", exc, typed),
                                      invoice_q=invoice_q))


@router.post("/credit-memos/{memo_id}/applications/{invoice_id}/remove/preview")
def remove_preview(request: Request, db: DB, actor: User, memo_id: str, invoice_id: str,
                   _f: CheckedForm) -> Response:
    return confirm.removal(
        request, db, actor, memo_id=memo_id, invoice_id=invoice_id,
        action=f"{_url(memo_id)}/applications/{invoice_id}/remove", back=_url(memo_id),
        section="memos", refused=lambda exc: memo_page(request, db, actor, memo_id,
                                                       refusal=forms.refusal("remove", exc)))


@router.post("/credit-memos/{memo_id}/void/preview")
def void_preview(request: Request, db: DB, actor: User, memo_id: str,
                 form: CheckedForm) -> Response:
    typed = forms.values(form, "reason")
    return confirm.ask(
        request, run=lambda: preview.void(db, actor=actor, memo_id=memo_id,
                                          reason=typed["reason"]),
        question=lambda p: confirm.Ask(
            f"Void credit memo {p.credit_memo.number}?", _url(memo_id) + "/void",
            f"Void {p.credit_memo.number}", _url(memo_id), "memos", danger=True, fields=typed),
        refused=lambda exc: memo_page(request, db, actor, memo_id,
                                      refusal=forms.refusal("void", exc, typed)))
