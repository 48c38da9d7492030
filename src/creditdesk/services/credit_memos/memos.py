"""Draft credit memos: create, start from an invoice, update, delete; reads and lists
(C1-C6, L1, S2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypedDict

from sqlalchemy import Connection, case, delete, func, select
from sqlalchemy.orm import Session, selectinload

from creditdesk.db import document_statements as docs
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import application as app_rules
from creditdesk.domain import documents as doc_rules
from creditdesk.domain import errors, money
from creditdesk.domain import invoice as invoice_rules
from creditdesk.domain import lines as line_rules
from creditdesk.domain import memo as rules
from creditdesk.domain.money import Money
from creditdesk.services.common import audit, line_rows, numbering, pagination
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.credit_memos import approvals, invoice_credit
from creditdesk.services.events import outbox
from creditdesk.services.invoicing import tax_rates
from creditdesk.services.read_models import views

MAX_NOTES = 5000


@dataclass(frozen=True)
class _Body:
    """A memo's content after validation: what create and update both produce."""

    reason: rules.Reason
    currency: str
    lines: list[line_rules.Line] | None
    total: Money
    invoice: models.Invoice | None
    taxes: line_rows.LineTaxes | None = None  # T2/T3: each line's (tax, rate name)
    tax_minor: int = 0
    tax_inclusive: bool = False


_Customer = models.Customer | docs.CustomerRow  # a row of the customer, ORM or Core


def _check_notes(notes: object) -> str | None:
    if notes is None:
        return None
    if not isinstance(notes, str) or len(notes) > MAX_NOTES:
        raise errors.ValidationError.for_field(
            "notes", f"must be text of at most {MAX_NOTES} characters")
    return notes


def _check_customer_note(note: object) -> str | None:
    """D1: the note the customer sees on the PDF and in the portal (``notes`` stay
    internal); blank is none."""
    if note is None:
        return None
    if not isinstance(note, str) or len(note) > doc_rules.MAX_NOTE:
        raise errors.ValidationError.for_field(
            "customer_note", f"must be text of at most {doc_rules.MAX_NOTE} characters")
    return note.strip() or None


def _validate(session: Session, actor: Actor, customer: _Customer, *, reason: object,
              amount: object, lines: object, currency: object, invoice_id: object,
              memo_id: str | None, tax_inclusive: object = None) -> _Body:
    """C2, C4, C5, M1, M2, M4, T1-T3 for a memo of ``customer``; raises on the first
    problem."""
    parsed_reason = rules.parse_reason(reason)
    invoice = None
    if invoice_id is not None:
        invoice = locks.get_scoped(session, models.Invoice, actor.partner_id, invoice_id)
        # Y9/Y3: a synced invoice is credited in its system, not by a memo linked here
        invoice_rules.check_writable(source=invoice.source, number=invoice.number)
    given = currency if currency is not None else (
        invoice.currency if invoice else customer.currency)
    try:
        cur = money.check_currency(given)
    except money.MoneyError as exc:
        raise errors.ValidationError.for_field("currency", str(exc)) from None
    credit = invoice_credit.of_invoice(session, invoice, memo_id) if invoice else None
    inclusive = _inclusive(tax_inclusive, invoice)
    taxed = None
    has_lines = lines is not None and lines != []
    if has_lines and amount is not None:
        raise errors.ValidationError.for_field(
            "amount", "give either amount or lines, not both: a memo with lines has their total")
    if has_lines:
        lines = invoice_credit.fill_from_invoice(lines, credit)
        parsed_lines = line_rules.parse_lines(lines, cur)
        line_rows.check_variants_exist(session, actor.partner_id, parsed_lines)
        rates = tax_rates.rates_for(session, actor.partner_id, parsed_lines)
        taxed = tax_rates.taxed(parsed_lines, invoice_credit.credited_taxes(
            credit, parsed_lines, rates, inclusive=inclusive), rates)
        total = Money(taxed.totals.total, cur)
        line_rules.check_total(total, "lines")
    elif amount is None:
        raise errors.ValidationError.for_field("amount", "is required when there are no lines")
    else:
        parsed_lines = None
        try:
            total = Money.parse_positive(amount, cur)
        except money.MoneyError as exc:
            raise errors.ValidationError.for_field("amount", str(exc)) from None
    if invoice is not None and credit is not None:
        _check_link(customer, invoice, total)
        if parsed_lines:  # per line first: its message says which line and by how much
            invoice_credit.check_lines(credit, parsed_lines)
        app_rules.check_linked_memo_cap(
            amount=total, invoice_total=credit.total, other_linked=credit.other_linked,
            invoice_number=invoice.number)
    return _Body(parsed_reason, cur, parsed_lines, total, invoice,
                 taxed.taxes if taxed else None, taxed.totals.tax if taxed else 0, inclusive)


def _inclusive(value: object, invoice: models.Invoice | None) -> bool:
    """T1: a memo's prices include tax if it says so; a memo linked to an invoice prices
    as its invoice does (its lines credit the invoice's)."""
    if invoice is None:
        return tax_rates.parse_inclusive(value)
    own = tax_rates.parse_inclusive(value, default=invoice.tax_inclusive)
    if own != invoice.tax_inclusive:
        raise errors.ValidationError.for_field(
            "tax_inclusive", f"must be {str(invoice.tax_inclusive).lower()}, as on invoice "
            f"{invoice.number}")
    return own


def _check_link(customer: _Customer, invoice: models.Invoice, total: Money) -> None:
    """C5 (``domain.application.check_memo_link``) for a memo of ``customer``."""
    app_rules.check_memo_link(
        memo_customer_id=customer.id, memo_currency=total.currency,
        invoice_customer_id=invoice.customer_id, invoice_currency=invoice.currency,
        invoice_status=invoice.status, invoice_number=invoice.number)


def recheck_link(session: Session, memo: docs.MemoRow, lines: list[docs.MemoLineRow]) -> None:
    """C5 once more when a draft is issued, against the invoice as it is now (the draft was
    checked when saved; this keeps the cap a property of issued memos whatever happened
    since)."""
    if memo.invoice_id is None:
        return
    invoice = session.get(models.Invoice, memo.invoice_id)
    assert invoice is not None
    credit = invoice_credit.of_invoice(session, invoice, memo.id)
    invoice_credit.check_lines(credit, [_draft_line(li, memo.currency)
                                        for li in lines if li.invoice_line_id])
    app_rules.check_linked_memo_cap(
        amount=Money(memo.total_minor, memo.currency), invoice_total=credit.total,
        other_linked=credit.other_linked, invoice_number=invoice.number)


def _draft_line(line: models.CreditMemoLine | docs.MemoLineRow,
                currency: str) -> line_rules.Line:
    """A draft's stored line as the domain's ``Line``. Drafts are native, and a native line
    always has its quantity and unit price (the memo_line_positive constraint)."""
    assert line.quantity is not None and line.unit_price_minor is not None
    return line_rules.Line(line.description, line.quantity,
                           Money(line.unit_price_minor, currency), line.variant_id,
                           line.invoice_line_id, line.tax_rate_id)


def _parse_issue_date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    raise errors.ValidationError.for_field("issue_date", "must be a date (YYYY-MM-DD)")


def create_memo(db: Database, *, actor: Actor, customer_id: str, reason: object,
                amount: object = None, lines: object = None, currency: object = None,
                invoice_id: object = None, issue_date: object = None,
                notes: object = None, tax_inclusive: object = None,
                customer_note: object = None) -> views.MemoView:
    """A draft memo numbered CM-0001, CM-0002, ... per partner (C1-C5, T1-T3)."""
    with db.write() as session:
        return create_in(session, actor=actor, customer_id=customer_id, reason=reason,
                         amount=amount, lines=lines, currency=currency,
                         invoice_id=invoice_id, issue_date=issue_date, notes=notes,
                         tax_inclusive=tax_inclusive, customer_note=customer_note)


def create_in(session: Session, *, actor: Actor, customer_id: str, reason: object,
              amount: object = None, lines: object = None, currency: object = None,
              invoice_id: object = None, issue_date: object = None,
              notes: object = None, tax_inclusive: object = None,
              customer_note: object = None) -> views.MemoView:
    """``create_memo`` inside the caller's transaction (which may hold further locks taken
    after the customer's, e.g. a suggestion being accepted).

    The memo, its lines and its audit event are written with Core statements on the
    session's connection, right away: the caller's own ORM changes are flushed after them
    (at its next query or its commit), and the session holds no instance of the memo.
    """
    now = clock.now()
    conn = session.connection()
    customer = docs.customer(conn, actor.partner_id,
                             locks.checked_id(models.Customer, customer_id), lock=True)
    if customer is None:
        raise locks.not_found(models.Customer, customer_id)
    body = _validate(session, actor, customer, reason=reason, amount=amount, lines=lines,
                     currency=currency, invoice_id=invoice_id, memo_id=None,
                     tax_inclusive=tax_inclusive)
    # Written in prebuilt Core statements on the session's connection (nothing of the
    # memo is kept in the session): see ``db/document_statements.py``.
    memo = docs.MemoRow(
        id=new_id("cm"), customer_id=customer.id,
        number=numbering.next_number(conn, actor.partner_id, numbering.MEMO),
        currency=body.currency, reason=body.reason.value,
        status=rules.MemoStatus.DRAFT.value, issue_date=_parse_issue_date(issue_date),
        invoice_id=body.invoice.id if body.invoice else None,
        total_minor=body.total.minor, applied_minor=0, refunded_minor=0,
        notes=_check_notes(notes), source=rules.Source.NATIVE.value, external_id=None,
        issued_at=None, applied_at=None, voided_at=None, void_reason=None, created_at=now,
        updated_at=now, tax_minor=body.tax_minor, tax_inclusive=body.tax_inclusive,
        customer_note=_check_customer_note(customer_note))
    rows = line_rows.memo_line_values(actor.partner_id, memo.id, body.lines or [], body.taxes)
    docs.add_memo(conn, {
        "id": memo.id, "partner_id": actor.partner_id, "customer_id": memo.customer_id,
        "number": memo.number, "currency": memo.currency, "reason": memo.reason,
        "status": memo.status, "issue_date": memo.issue_date, "invoice_id": memo.invoice_id,
        "total_minor": memo.total_minor, "applied_minor": 0, "refunded_minor": 0,
        "notes": memo.notes, "source": memo.source, "created_at": now, "updated_at": now,
        "tax_minor": body.tax_minor, "tax_inclusive": body.tax_inclusive,
        "customer_note": memo.customer_note}, rows)
    audit.record_on(conn, actor, "credit_memo.create", "credit_memo", memo.id,
                    {"number": memo.number, "total": body.total.to_str(),
                     "currency": body.currency, "reason": memo.reason,
                     "invoice_number": body.invoice.number if body.invoice else None})
    # its lines are the rows just written: no reload
    view = views.memo_view_of(memo, [_line(r) for r in rows])
    outbox.emit(conn, actor.partner_id, "credit_memo.created", {"credit_memo": view})  # D5
    return view


def _line(values: dict[str, Any]) -> docs.MemoLineRow:
    """A (native) line's row as just written."""
    return docs.MemoLineRow(values["id"], values["description"], values["quantity"],
                            values["unit_price_minor"], values["amount_minor"],
                            values["variant_id"], False, None, values["invoice_line_id"],
                            values["tax_rate_id"], values["tax_rate_name"], values["tax_minor"])


def create_from_invoice(db: Database, *, actor: Actor, invoice_id: str, reason: object,
                        amount: object = None, lines: object = None, issue_date: object = None,
                        notes: object = None, customer_note: object = None) -> views.MemoView:
    """C6: a draft pre-filled with the invoice's customer, currency and link, and by
    default every line for the quantity it can still be credited (C5). Its lines carry
    their invoice lines' tax rates and it prices as the invoice does (T3).

    ``lines`` may pick invoice lines and quantities (``{"invoice_line_id", "quantity"}``,
    the rest taken from the invoice line) or give lines of their own; ``amount`` credits
    an amount without lines.
    """
    with db.read() as session:
        invoice = locks.get_scoped(session, models.Invoice, actor.partner_id, invoice_id)
        invoice_rules.check_writable(source=invoice.source, number=invoice.number)  # Y9/Y3
        if amount is None and lines is None:
            lines = invoice_credit.remaining_as_input(invoice_credit.of_invoice(session, invoice))
            if not lines:
                raise errors.ExceedsInvoiceTotal(
                    f"Every line of invoice {invoice.number} is already credited in full by "
                    "its other credit memos (drafts included); nothing is left to credit.")
        customer_id, currency = invoice.customer_id, invoice.currency
    return create_memo(db, actor=actor, customer_id=customer_id, reason=reason, amount=amount,
                       lines=lines, currency=currency, invoice_id=invoice_id,
                       issue_date=issue_date, notes=notes, customer_note=customer_note)


def _lock_memo(session: Session, actor: Actor, memo_id: str) -> models.CreditMemo:
    """The fixed lock order: the memo's customer first, then the memo."""
    locks.lock_owner(session, actor.partner_id, models.CreditMemo, memo_id)
    return locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id, lock=True)


class MemoState(Protocol):
    """What L5's check reads of a memo: an ORM row, or the columns a credit change reads
    (``db.credit_statements.MemoRow``)."""

    @property
    def status(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def applied_minor(self) -> int: ...
    @property
    def refunded_minor(self) -> int: ...


def check(memo: MemoState, action: rules.Action) -> None:
    """L5/R2: raise unless ``action`` is allowed on ``memo`` as it is now."""
    rules.check_allowed(status=rules.MemoStatus(memo.status), action=action, number=memo.number,
                        source=rules.Source(memo.source), applied_minor=memo.applied_minor,
                        refunded_minor=memo.refunded_minor)


def _content_after(memo: models.CreditMemo, changes: dict[str, object]) -> tuple[object, object]:
    """The (lines, amount) a draft has once ``changes`` apply: new lines replace the old,
    "lines": [] removes them (an amount is then needed), untouched lines are kept."""
    if "lines" in changes:
        # a lineless draft keeps its amount only when no new lines replace it
        keeps_amount = not memo.lines and changes["lines"] in (None, [])
        default_amount = _amount_of(memo) if keeps_amount else None
        return changes["lines"], changes.get("amount", default_amount)
    if memo.lines:
        if changes.get("amount") is not None:
            raise errors.ValidationError.for_field(
                "amount", "this memo has lines and their total; change the lines, or send "
                "\"lines\": [] to remove them")
        return [_line_input(li, memo.currency) for li in memo.lines], None
    return None, changes.get("amount", _amount_of(memo))


def _amount_of(memo: models.CreditMemo) -> object:
    return Money(memo.total_minor, memo.currency).to_decimal()


def _line_input(line: models.CreditMemoLine, currency: str) -> dict[str, object]:
    """A draft's stored line as the raw input an update validates again."""
    kept = _draft_line(line, currency)
    return {"description": kept.description, "quantity": kept.quantity,
            "unit_price": kept.unit_price.to_decimal(),
            "variant_id": kept.variant_id, "invoice_line_id": kept.invoice_line_id,
            "tax_rate_id": kept.tax_rate_id}


UPDATABLE = ("reason", "amount", "lines", "currency", "invoice_id", "issue_date", "notes",
             "tax_inclusive", "customer_note")


def update_memo(db: Database, *, actor: Actor, memo_id: str,
                changes: dict[str, object]) -> views.MemoView:
    """L1: a draft's fields change; any other status is refused."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise errors.ValidationError.for_field(sorted(unknown)[0], "can't be changed")
    now = clock.now()
    with db.write() as session:
        memo = _lock_memo(session, actor, memo_id)
        check(memo, rules.Action.UPDATE)
        approvals.withdraw_on_edit(session, actor, memo)  # AP1: approve what is issued
        customer = session.get(models.Customer, memo.customer_id)
        assert customer is not None
        lines_in, amount_in = _content_after(memo, changes)
        cur = changes.get("currency", memo.currency)
        body = _validate(
            session, actor, customer, reason=changes.get("reason", memo.reason), amount=amount_in,
            lines=lines_in, currency=cur,
            invoice_id=changes.get("invoice_id", memo.invoice_id), memo_id=memo.id,
            tax_inclusive=changes.get("tax_inclusive", _kept_inclusive(memo, changes)))
        before = _audited(session, memo)
        memo.reason = body.reason.value
        memo.currency = body.currency
        memo.total_minor = body.total.minor
        memo.tax_minor = body.tax_minor
        memo.tax_inclusive = body.tax_inclusive
        memo.invoice_id = body.invoice.id if body.invoice else None
        if "issue_date" in changes:
            memo.issue_date = _parse_issue_date(changes["issue_date"])
        if "notes" in changes:
            memo.notes = _check_notes(changes["notes"])
        if "customer_note" in changes:
            memo.customer_note = _check_customer_note(changes["customer_note"])
        stored_taxes = [(li.tax_minor, li.tax_rate_name) for li in memo.lines]
        if (set(changes) & {"lines", "currency", "tax_inclusive", "invoice_id"}
                or (body.taxes or []) != stored_taxes):
            # kept lines are re-priced in the new currency, or their tax changed (T3: what
            # the other memos hold may have): store them so they agree (C4, T2)
            session.execute(delete(models.CreditMemoLine).where(
                models.CreditMemoLine.credit_memo_id == memo.id))
            if body.lines:
                line_rows.add_memo_lines(session, memo, body.lines, body.taxes)
        memo.updated_at = now
        session.flush()
        session.refresh(memo, ["lines"])
        after = _audited(session, memo)
        audit.record(session, actor, "credit_memo.update", "credit_memo", memo.id,
                     {"fields": sorted(changes), "total": body.total.to_str(),
                      "currency": body.currency,
                      "changes": {k: [before[k], after[k]] for k in after
                                  if before[k] != after[k]}})
        return views.memo_view(memo)


def _kept_inclusive(memo: models.CreditMemo, changes: dict[str, object]) -> object:
    """A draft keeps its pricing unless changed; moved to (or off) an invoice it takes the
    default there."""
    return None if "invoice_id" in changes else memo.tax_inclusive


def _audited(session: Session, memo: models.CreditMemo) -> dict[str, object]:
    """What an update's audit entry compares (E1: it says what changed)."""
    invoice = session.get(models.Invoice, memo.invoice_id) if memo.invoice_id else None
    return {"total": Money(memo.total_minor, memo.currency).to_str(),
            "currency": memo.currency, "reason": memo.reason,
            "invoice": invoice.number if invoice else None,
            "issue_date": memo.issue_date.isoformat() if memo.issue_date else None,
            "notes": (memo.notes or "")[:200] or None, "lines": len(memo.lines),
            "customer_note": (memo.customer_note or "")[:200] or None,
            "tax": Money(memo.tax_minor, memo.currency).to_str(),
            "tax_inclusive": memo.tax_inclusive}


def delete_memo(db: Database, *, actor: Actor, memo_id: str) -> None:
    """L1: only drafts can be deleted."""
    with db.write() as session:
        memo = _lock_memo(session, actor, memo_id)
        check(memo, rules.Action.DELETE)
        session.execute(delete(models.CreditMemoLine).where(
            models.CreditMemoLine.credit_memo_id == memo.id))
        session.delete(memo)
        audit.record(session, actor, "credit_memo.delete", "credit_memo", memo.id,
                     {"number": memo.number})


def get_memo(db: Database, *, actor: Actor, memo_id: str) -> views.MemoView:
    """One of the partner's memos (NotFound for another partner's, P4): its row with its
    lines in one prebuilt statement (one statement: one snapshot, no transaction needed),
    its refunds (R1), and a draft's open approval request (AP1)."""
    key = locks.checked_id(models.CreditMemo, memo_id)
    with db.lookup() as conn:
        found = docs.memo_with_lines(conn, actor.partner_id, key)
        if found is None:
            raise locks.not_found(models.CreditMemo, key)
        view = views.memo_view_of(*found, refunds=refunds_of(conn, found[0]))
    if view.status != rules.MemoStatus.DRAFT:
        return view
    with db.read() as session:
        return approvals.with_open_requests(session, [view])[0]


def refunds_of(conn: Connection, memo: docs.MemoRow) -> list[Any]:
    """R1: a memo's refunds; none to read for a draft or a synced memo."""
    if memo.status == rules.MemoStatus.DRAFT or memo.source != rules.Source.NATIVE:
        return []
    return docs.memo_refunds(conn, memo.id)


SORT_KEYS = ("date", "number", "total", "remaining")


def _sort_key(key: str) -> object:
    cm = models.CreditMemo
    return {
        # a draft has no issue date yet: it sorts by the day it was created
        "date": func.coalesce(cm.issue_date, func.date(cm.created_at)),
        "number": cm.number,
        "total": cm.total_minor,
        "remaining": case((cm.status == rules.MemoStatus.VOID.value, 0),
                          else_=cm.total_minor - cm.applied_minor),  # C7
    }[key]


class MemoFilters(TypedDict, total=False):
    """``list_memos``'s keyword arguments after ``actor``, for a read model passing them on."""

    statuses: list[str] | None
    customer_id: str | None
    source: str | None
    has_remaining: bool | None
    q: str | None
    limit: int
    cursor: str | None
    sort: str | None


def memo_conditions(*, actor: Actor, statuses: list[str] | None = None,
                    customer_id: str | None = None, source: str | None = None,
                    has_remaining: bool | None = None, q: str | None = None) -> list[Any]:
    """S2's filters as WHERE conditions on credit_memos, scoped to the partner; a bad
    filter raises the ValidationError naming it (the list and its CSV export, D3, share
    them)."""
    cm = models.CreditMemo
    where: list[Any] = [cm.partner_id == actor.partner_id]
    if statuses:
        allowed = {s.value for s in rules.MemoStatus}
        if any(s not in allowed for s in statuses):
            raise errors.ValidationError.for_field(
                "status", f"must be one of: {', '.join(s.value for s in rules.MemoStatus)}")
        where.append(cm.status.in_(statuses))
    if customer_id:
        where.append(cm.customer_id == customer_id)
    if source:
        where.append(cm.source == rules.parse_source(source).value)
    credit = [s.value for s in rules.CREDIT_STATUSES]
    if has_remaining is True:
        where.append(cm.status.in_(credit))
    elif has_remaining is False:
        where.append(cm.status.not_in(credit))
    if q and q.strip():
        # Any part of the number, case-insensitive ("17" finds CM-0017; synced memos keep
        # their system's numbering). PostgreSQL serves it from the trigram index of
        # migration 0014; SQLite walks the partner's memos newest first until a page is full.
        where.append(func.upper(cm.number).like(
            pagination.contains_pattern(q.strip().upper()), escape="\\"))
    return where


def list_memos(db: Database, *, actor: Actor, statuses: list[str] | None = None,
               customer_id: str | None = None, source: str | None = None,
               has_remaining: bool | None = None, q: str | None = None, limit: int = 50,
               cursor: str | None = None, sort: str | None = None,
               ) -> pagination.Page[views.MemoView]:
    """S2: filtered by status, customer, source, remaining credit and any part of the
    number; newest first, or by ``sort`` (date, number, total, remaining; "-" descending)."""
    order = pagination.parse_sort(sort, SORT_KEYS)
    cm = models.CreditMemo
    stmt = select(cm).where(*memo_conditions(
        actor=actor, statuses=statuses, customer_id=customer_id, source=source,
        has_remaining=has_remaining, q=q)).options(
        selectinload(cm.lines), selectinload(cm.refunds))
    with db.read() as session:
        if order is not None:
            page = pagination.sorted_page(session, stmt, _sort_key(order.key), cm.id,
                                          descending=order.descending, limit=limit,
                                          cursor=cursor, view=views.memo_view)
        else:
            page = pagination.newest_first(session, stmt, cm.id, limit=limit, cursor=cursor,
                                           view=views.memo_view)
        return pagination.Page(approvals.with_open_requests(session, page.data),
                               page.next_cursor)
