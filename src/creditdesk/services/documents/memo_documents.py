"""D1: what a memo's PDF holds, read in one transaction — the partner's profile and logo,
the customer, the memo with its lines and tax, its applications and refunds, and the
customer-facing note (never the internal ``notes``) — and the PDF made of it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import documents as rules
from creditdesk.domain import errors
from creditdesk.domain.memo import MemoStatus
from creditdesk.domain.money import Money
from creditdesk.services.common.context import Actor
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.documents import drawing, profile
from creditdesk.services.read_models import views


@dataclass(frozen=True)
class PdfFile:
    filename: str
    content: bytes


def read_document(session: Session, partner_id: str, memo_id: str) -> drawing.MemoDocument:
    """The document of one of the partner's memos (404 for another partner's); a draft
    has none (409, D1)."""
    row = session.scalars(
        select(models.CreditMemo)
        .where(models.CreditMemo.id == locks.checked_id(models.CreditMemo, memo_id),
               models.CreditMemo.partner_id == partner_id)
        .options(selectinload(models.CreditMemo.lines),
                 selectinload(models.CreditMemo.refunds))).first()
    if row is None:
        raise locks.not_found(models.CreditMemo, memo_id)
    rules.check_has_pdf(status=row.status, number=row.number)
    memo = views.memo_view(row)
    customer = session.get_one(models.Customer, row.customer_id)
    shown_profile, logo = profile.read(session, partner_id)
    original = (session.scalar(select(models.Invoice.number)
                               .where(models.Invoice.id == row.invoice_id))
                if row.invoice_id else None)
    applied = session.execute(
        select(models.CreditApplication.amount_minor, models.CreditApplication.applied_at,
               models.Invoice.number)
        .join(models.Invoice, models.Invoice.id == models.CreditApplication.invoice_id)
        .where(models.CreditApplication.credit_memo_id == row.id,
               models.CreditApplication.status == "applied")
        .order_by(models.CreditApplication.applied_at, models.CreditApplication.id)).all()
    return drawing.MemoDocument(
        shown_profile, logo, customer.name, customer.email, memo, original,
        [drawing.AppliedLine(number, at, Money(amount, row.currency))
         for amount, at, number in applied],
        [drawing.RefundLine(r.refunded_at, r.method, r.reference, r.amount)
         for r in memo.refunds if r.voided_at is None])


def memo_pdf(db: Database, *, actor: Actor, memo_id: str) -> PdfFile:
    """D1: the memo's PDF, for the dashboard and the API."""
    with db.read() as session:
        doc = read_document(session, actor.partner_id, memo_id)
    return PdfFile(doc.filename, drawing.render(doc))


def portal_memo_pdf(db: Database, *, partner_id: str, customer_id: str,
                    memo_id: str) -> PdfFile:
    """D1/P3: the PDF of one of the customer's own memos, only while its credit is visible
    to it; otherwise (and for anyone else's memo, or a draft) the answer is a plain 404."""
    with db.read() as session:
        owner = session.scalar(select(models.CreditMemo.customer_id).where(
            models.CreditMemo.id == memo_id, models.CreditMemo.partner_id == partner_id))
        hidden = owner != customer_id or not visibility.credit_visible(
            session, partner_id, customer_id)
        if hidden:
            raise errors.NotFound("No such credit memo.")
        try:
            doc = read_document(session, partner_id, memo_id)
        except errors.InvalidState:  # a draft is not the customer's to see
            raise errors.NotFound("No such credit memo.") from None
        if doc.memo.status == MemoStatus.VOID:  # nor a void one: the portal lists neither
            raise errors.NotFound("No such credit memo.")
    return PdfFile(doc.filename, drawing.render(doc))
