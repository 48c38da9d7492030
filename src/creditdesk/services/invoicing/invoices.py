"""Invoices and payments: the context a memo needs (I2-I5)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Connection,
    bindparam,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session, selectinload

from creditdesk.db import document_statements as docs
from creditdesk.db import locks, models, read_statements
from creditdesk.db.engine import Database
from creditdesk.db.read_statements import CreditRow, PaymentRow
from creditdesk.domain import application as rules
from creditdesk.domain import errors, inventory, journal, money
from creditdesk.domain import invoice as invoice_rules
from creditdesk.domain import lines as line_rules
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.inventory import ActivityKind
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.common import audit, line_rows, numbering, pagination
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.invoicing import tax_rates
from creditdesk.services.read_models import views

S = rules.InvoiceStatus


_pay, _app, _memo = models.Payment, models.CreditApplication, models.CreditMemo
_INVOICE_IDS: BindParameter[list[str]] = bindparam("invoice_ids", expanding=True)
# An invoice's payments and the credits applied to it (with each memo's number), one
# statement for both: a read of one invoice is its row with its lines, then this.
_MONEY_IN: CompoundSelect[*tuple[Any, ...]] = union_all(
    select(literal("payment").label("kind"), _pay.invoice_id, _pay.id, _pay.amount_minor,
           _pay.paid_at.label("at"), null().label("credit_memo_id"), null().label("number"))
    .where(_pay.invoice_id.in_(_INVOICE_IDS)),
    select(literal("credit"), _app.invoice_id, _app.id, _app.amount_minor, _app.applied_at,
           _app.credit_memo_id, _memo.number)
    .join(_memo, _memo.id == _app.credit_memo_id)
    .where(_app.invoice_id.in_(_INVOICE_IDS),
           read_statements.credit_in_force(models.CreditApplication.__table__)),
).order_by("kind", "id")


def load_view(session: Session, invoice: models.Invoice) -> views.InvoiceView:
    """The full invoice, with its payments and credits applied, read in ``session``."""
    return load_views(session, [invoice])[0]


def load_views(session: Session, rows: list[models.Invoice]) -> list[views.InvoiceView]:
    """``load_view`` of many invoices, with one query for all their payments and credits
    (a list page is one read, not two per invoice)."""
    payments: dict[str, list[PaymentRow]] = {r.id: [] for r in rows}
    credits: dict[str, list[tuple[CreditRow, str]]] = {r.id: [] for r in rows}
    if rows:
        for m in session.execute(_MONEY_IN, {"invoice_ids": [r.id for r in rows]}):
            if m.kind == "payment":
                payments[m.invoice_id].append(PaymentRow(m.id, m.amount_minor, m.at))
            else:
                credits[m.invoice_id].append(
                    (CreditRow(m.credit_memo_id, m.amount_minor, m.at), m.number))
    return [views.invoice_view(r, payments[r.id], credits[r.id]) for r in rows]


class InvoiceAmounts(Protocol):
    """The stored amounts I4 reads: an ORM row, or the columns a credit change reads
    (``db.credit_statements.InvoiceRow``)."""

    @property
    def currency(self) -> str: ...
    @property
    def total_minor(self) -> int: ...
    @property
    def paid_minor(self) -> int: ...
    @property
    def credited_minor(self) -> int: ...


def balance_due(invoice: InvoiceAmounts) -> Money:
    """I4 (``domain.application.balance_due``) of a stored invoice row."""
    return rules.balance_due(total_minor=invoice.total_minor, paid_minor=invoice.paid_minor,
                             credited_minor=invoice.credited_minor, currency=invoice.currency)


def recompute_status(invoice: models.Invoice) -> None:
    """I5, for an invoice that is not draft or void."""
    invoice.status = rules.invoice_status(
        total_minor=invoice.total_minor, paid_minor=invoice.paid_minor,
        credited_minor=invoice.credited_minor, currency=invoice.currency).value


def create_invoice(db: Database, *, actor: Actor, customer_id: str,
                   lines: list[dict[str, object]],
                   currency: str | None = None, issue_date: date | None = None,
                   due_date: date | None = None, notes: str | None = None,
                   tax_inclusive: object = None) -> views.InvoiceView:
    """A draft invoice with its number (I2); lines may carry a tax rate (T1, T2).

    Written in prebuilt Core statements (``db/document_statements.py``): creating and
    issuing documents is the everyday write.
    """
    now = clock.now()
    with db.write_connection() as conn:
        customer = docs.customer(conn, actor.partner_id,
                                 locks.checked_id(models.Customer, customer_id))
        if customer is None:
            raise locks.not_found(models.Customer, customer_id)
        cur = currency or customer.currency
        try:
            money.check_currency(cur)
        except money.MoneyError as exc:
            raise errors.ValidationError.for_field("currency", str(exc)) from None
        parsed = line_rules.parse_lines(lines, cur)
        inclusive = tax_rates.parse_inclusive(tax_inclusive)
        line_rows.check_variants_exist(conn, actor.partner_id, parsed)
        taxed = tax_rates.line_taxes(parsed, tax_rates.rates_for(conn, actor.partner_id, parsed),
                                     inclusive=inclusive)
        line_rules.check_total(Money(taxed.totals.total, cur), "lines")
        if issue_date and due_date and due_date < issue_date:
            raise errors.ValidationError.for_field("due_date", "must not be before issue_date")
        invoice = docs.InvoiceRow(
            id=new_id("inv"), customer_id=customer.id,
            number=numbering.next_number(conn, actor.partner_id, numbering.INVOICE),
            currency=cur, status=S.DRAFT.value, issue_date=issue_date, due_date=due_date,
            total_minor=taxed.totals.total, paid_minor=0, credited_minor=0,
            notes=notes, issued_at=None, voided_at=None, created_at=now, updated_at=now,
            tax_minor=taxed.totals.tax, tax_inclusive=inclusive)
        rows = line_rows.invoice_line_values(actor.partner_id, invoice.id, parsed, taxed.taxes)
        docs.add_invoice(conn, {
            "id": invoice.id, "partner_id": actor.partner_id, "customer_id": invoice.customer_id,
            "number": invoice.number, "currency": cur, "status": invoice.status,
            "issue_date": issue_date, "due_date": due_date, "total_minor": invoice.total_minor,
            "paid_minor": 0, "credited_minor": 0, "notes": notes, "created_at": now,
            "updated_at": now, "tax_minor": invoice.tax_minor, "tax_inclusive": inclusive},
            rows)
        audit.record_on(conn, actor, "invoice.create", "invoice", invoice.id,
                        {"number": invoice.number,
                         "total": Money(invoice.total_minor, cur).to_str()})
        # Its lines are the rows just written (no reload); a new invoice has no payments
        # and no credits to read.
        return views.invoice_view_of(invoice, [_line(r) for r in rows], [], [])


def _line(values: dict[str, Any]) -> docs.InvoiceLineRow:
    """A line's row as just written."""
    return docs.InvoiceLineRow(values["id"], values["description"], values["quantity"],
                               values["unit_price_minor"], values["amount_minor"],
                               values["variant_id"], tax_rate_id=values["tax_rate_id"],
                               tax_rate_name=values["tax_rate_name"],
                               tax_minor=values["tax_minor"])


def _lock_invoice(session: Session, actor: Actor, invoice_id: str) -> models.Invoice:
    """Customer first, then the invoice (the fixed lock order)."""
    locks.lock_owner(session, actor.partner_id, models.Invoice, invoice_id)
    return locks.get_scoped(session, models.Invoice, actor.partner_id, invoice_id, lock=True)


def issue_invoice(db: Database, *, actor: Actor, invoice_id: str,
                  on: Connection | None = None) -> views.InvoiceView:
    """I3: draft -> open; Dr AR / Cr Sales Revenue; variant quantities leave stock.

    In prebuilt Core statements, as ``create_invoice``; the lock order is
    ``_lock_invoice``'s (customer, then the invoice; variants last). ``on``: the
    transaction of a use case this issue is part of (AU1's
    ``credit_memos.auto_apply.issue_invoice``, the issue the API and pages make, which
    locks the customer's credit first); none: a transaction of its own.
    """
    now = clock.now()
    with _joined(db, on) as conn:
        locks.lock_owner(conn, actor.partner_id, models.Invoice, invoice_id)
        found = docs.invoice_with_lines(conn, actor.partner_id,
                                        locks.checked_id(models.Invoice, invoice_id), lock=True)
        if found is None:
            raise locks.not_found(models.Invoice, invoice_id)
        invoice, lines = found
        invoice_rules.check_writable(source=invoice.source, number=invoice.number)  # Y9/Y3
        if invoice.status != S.DRAFT:
            raise errors.InvalidState(
                f"Invoice {invoice.number} is {invoice.status.replace('_', ' ')}; only draft "
                "invoices can be issued.")
        invoice = replace(invoice, status=S.OPEN.value, issued_at=now,
                          issue_date=invoice.issue_date or now.date(), updated_at=now)
        assert invoice.issue_date is not None and invoice.issued_at is not None
        docs.set_invoice_issued(conn, invoice.id, status=invoice.status,
                                issued_at=invoice.issued_at, issue_date=invoice.issue_date,
                                now=now)
        for posting in journal.invoice_issued_with_tax(
                Money(invoice.total_minor - invoice.tax_minor, invoice.currency),
                Money(invoice.tax_minor, invoice.currency), invoice.number):
            ledger.post_on(conn, actor.partner_id, posting, entry_date=invoice.issue_date,
                           source_type="invoice", source_id=invoice.id)
        ledger.move_stocks_on(conn, actor.partner_id, inventory.moves_for_lines(lines, sign=-1),
                              kind=ActivityKind.SALE, source_type="invoice",
                              source_id=invoice.id)
        audit.record_on(conn, actor, "invoice.issue", "invoice", invoice.id, {
            "number": invoice.number, "currency": invoice.currency,  # E1: what was issued
            "total": Money(invoice.total_minor, invoice.currency).to_str(),
            "tax": Money(invoice.tax_minor, invoice.currency).to_str()})
        # It was a draft until now, and a draft takes no payment (I4) and no credit (A1):
        # nothing more to read.
        return views.invoice_view_of(invoice, lines, [], [])


@contextmanager
def _joined(db: Database, conn: Connection | None) -> Iterator[Connection]:
    """``conn`` if given (the caller's transaction), else a write transaction of its own."""
    if conn is not None:
        yield conn
        return
    with db.write_connection() as own:
        yield own


def void_invoice(db: Database, *, actor: Actor, invoice_id: str) -> views.InvoiceView:
    """Void a draft, or an issued invoice with nothing paid or credited (reversing I3)."""
    now = clock.now()
    with db.write() as session:
        invoice = _lock_invoice(session, actor, invoice_id)
        invoice_rules.check_writable(source=invoice.source, number=invoice.number)  # Y9/Y3
        if invoice.status == S.VOID:
            raise errors.InvalidState(f"Invoice {invoice.number} is already void.")
        if invoice.paid_minor or invoice.credited_minor:
            raise errors.InvalidState(
                f"Invoice {invoice.number} has payments or credit applied; remove the credit "
                "applied and refund payments before voiding it.")
        was_issued = invoice.status != S.DRAFT
        invoice.status = S.VOID.value
        invoice.voided_at = now
        invoice.updated_at = now
        if was_issued:
            for posting in journal.invoice_voided_with_tax(
                    Money(invoice.total_minor - invoice.tax_minor, invoice.currency),
                    Money(invoice.tax_minor, invoice.currency), invoice.number):
                ledger.post(session, actor.partner_id, posting, entry_date=now.date(),
                            source_type="invoice", source_id=invoice.id)
            ledger.move_stocks(session, actor.partner_id,
                               inventory.moves_for_lines(invoice.lines, sign=1),
                               kind=ActivityKind.SALE_REVERSAL, source_type="invoice",
                               source_id=invoice.id)
        audit.record(session, actor, "invoice.void", "invoice", invoice.id,
                     {"number": invoice.number})
        return load_view(session, invoice)


def record_payment(db: Database, *, actor: Actor, invoice_id: str, amount: object,
                   paid_at: datetime | None = None) -> views.InvoiceView:
    """I4: a payment up to the balance due; Dr Cash / Cr AR; status recomputed (I5)."""
    now = clock.now()
    with db.write() as session:
        invoice = _lock_invoice(session, actor, invoice_id)
        invoice_rules.check_writable(source=invoice.source, number=invoice.number)  # Y9/Y3
        try:
            pay = Money.parse_positive(amount, invoice.currency)
        except money.MoneyError as exc:
            raise errors.ValidationError.for_field("amount", str(exc)) from None
        if invoice.status not in (S.OPEN, S.PARTIALLY_PAID):
            raise errors.InvalidState(
                f"Invoice {invoice.number} is {invoice.status.replace('_', ' ')}; payments can "
                "only be recorded on open or partially paid invoices.")
        rules.check_payment(amount=pay, invoice_balance=balance_due(invoice),
                            invoice_number=invoice.number)
        payment = models.Payment(id=new_id("pay"), partner_id=actor.partner_id,
                                 invoice_id=invoice.id, amount_minor=pay.minor,
                                 paid_at=paid_at or now, created_at=now, created_by=actor.name)
        session.add(payment)
        invoice.paid_minor += pay.minor
        invoice.updated_at = now
        recompute_status(invoice)
        ledger.post(session, actor.partner_id, journal.payment_recorded(pay, invoice.number),
                    entry_date=(paid_at or now).date(), source_type="payment",
                    source_id=payment.id)
        audit.record(session, actor, "invoice.payment", "invoice", invoice.id,
                     {"payment_id": payment.id, "amount": pay.to_str()})
        return load_view(session, invoice)


def get_invoice(db: Database, *, actor: Actor, invoice_id: str) -> views.InvoiceView:
    """One of the partner's invoices (NotFound for another partner's, P4), whole: its row,
    lines, payments and credits applied in one prebuilt statement (one statement: one
    snapshot, no transaction needed)."""
    key = locks.checked_id(models.Invoice, invoice_id)
    with db.lookup() as conn:
        found = read_statements.invoice_whole(conn, actor.partner_id, key)
    if found is None:
        raise locks.not_found(models.Invoice, key)
    return views.invoice_view_of(*found)


SORT_KEYS = ("date", "number", "total", "balance")


def _sort_key(key: str) -> object:
    inv = models.Invoice
    return {"date": func.coalesce(inv.issue_date, func.date(inv.created_at)),
            "number": inv.number, "total": inv.total_minor,
            # I4 (domain.application.balance_due) in SQL, so the database can sort by it
            "balance": inv.total_minor - inv.paid_minor - inv.credited_minor}[key]


def list_invoices(db: Database, *, actor: Actor, customer_id: str | None = None,
                  statuses: list[str] | None = None, source: str | None = None,
                  q: str | None = None, limit: int = 50, cursor: str | None = None,
                  sort: str | None = None) -> pagination.Page[views.InvoiceView]:
    """Native and synced invoices (Y9), filtered by customer, status, source and any part of
    the number; newest first, or by ``sort`` (date, number, total, balance; "-"
    descending)."""
    order = pagination.parse_sort(sort, SORT_KEYS)
    inv = models.Invoice
    stmt = select(inv).where(inv.partner_id == actor.partner_id).options(selectinload(inv.lines))
    if customer_id:
        stmt = stmt.where(inv.customer_id == customer_id)
    if statuses:
        bad = [s for s in statuses if s not in {v.value for v in S}]
        if bad:
            raise errors.ValidationError.for_field(
                "status", f"must be one of: {', '.join(v.value for v in S)}")
        stmt = stmt.where(inv.status.in_(statuses))
    if source:
        stmt = stmt.where(inv.source == memo_rules.parse_source(source).value)
    if q:
        # any case: synced invoices keep their system's numbering (Y9), which may have some
        stmt = stmt.where(func.upper(inv.number).like(
            pagination.contains_pattern(q.strip().upper()), escape="\\"))
    with db.read() as session:
        if order is not None:
            return pagination.sorted_page(session, stmt, _sort_key(order.key), inv.id,
                                          descending=order.descending, limit=limit,
                                          cursor=cursor,
                                          views=lambda rows: load_views(session, rows))
        return pagination.newest_first(session, stmt, inv.id, limit=limit, cursor=cursor,
                                       views=lambda rows: load_views(session, rows))
