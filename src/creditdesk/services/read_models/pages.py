"""Read models for the Partner Dashboard's pages: one call per page, one snapshot each,
returning dataclasses (ARCHITECTURE.md: read models for lists, summaries and pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Unpack

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import application as app_rules
from creditdesk.domain import errors
from creditdesk.domain import invoice as invoice_rules
from creditdesk.domain import memo as memo_rules
from creditdesk.domain import refund as refund_rules
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.common import pagination
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import invoice_credit, memos, refunds
from creditdesk.services.customer_accounts import auto_apply_setting, customers, visibility
from creditdesk.services.invoicing import catalog, invoices
from creditdesk.services.read_models import audit_trail, views


@dataclass(frozen=True)
class MemoRow:
    memo: views.MemoView
    customer_name: str


@dataclass(frozen=True)
class AppliedRow:
    """Everything one memo applied to one invoice (Remove takes all of it, U2); for synced
    credit, one application with its write-back (Y11): ``status`` applied | pending |
    failed, ``action`` what the pending or failed write-back does (apply | remove),
    ``error`` the system's words, ``origin`` source_system when made there directly."""

    invoice_id: str
    invoice_number: str
    amount: Money
    applied_at: datetime
    applied_by: str
    application_id: str | None = None
    status: str = "applied"
    action: str | None = None
    error: str | None = None
    origin: str = "user"


@dataclass(frozen=True)
class Candidate:
    """An invoice the memo can be applied to, with the largest amount A2 allows."""

    invoice_id: str
    number: str
    status: str
    issue_date: date | None
    balance_due: Money
    max_amount: Money


@dataclass(frozen=True)
class MemoPage:
    memo: views.MemoView
    customer: customers.CustomerView
    original_invoice_number: str | None
    applications: list[AppliedRow]
    journal: list[ledger.JournalEntryView]
    inventory: list[ledger.ActivityView]
    audit: list[audit_trail.AuditEventView]
    variants: dict[str, catalog.VariantView]
    candidates: list[Candidate]
    source_name: str
    actions: frozenset[str]  # what the transition table allows now (none for synced memos)


@dataclass(frozen=True)
class InvoicePage:
    invoice: views.InvoiceView
    customer: customers.CustomerView
    linked_memos: list[views.MemoView]
    variants: dict[str, catalog.VariantView]
    source_name: str  # where a synced invoice is changed (Y9/Y3); "CreditDesk" if native
    # Y11: credit that can still be applied to it (memos of its customer, currency and
    # source), and applications to it whose write-back is pending or failed
    offers: tuple[Offer, ...] = ()
    write_backs: tuple[WriteBackRow, ...] = ()
    # AU1: the memos whose credit was applied to it automatically, and (a draft) whether
    # issuing it would apply the customer's available credit
    automatic: frozenset[str] = frozenset()
    auto_apply: bool = False


@dataclass(frozen=True)
class WriteBackRow:
    """An application to the invoice whose write-back is pending or failed (Y11-Y13)."""

    application_id: str
    memo_id: str
    memo_number: str
    amount: Money
    status: str
    action: str | None
    error: str | None


@dataclass(frozen=True)
class Offer:
    """A memo whose credit the invoice page offers, with the largest amount A2 allows."""

    memo_id: str
    number: str
    remaining: Money
    max_amount: Money


@dataclass(frozen=True)
class CreditFromInvoicePage:
    """C6's form: the invoice's lines with what each can still be credited (C5)."""

    invoice: views.InvoiceView
    customer: customers.CustomerView
    credit: invoice_credit.InvoiceCredit
    variants: dict[str, catalog.VariantView]


@dataclass(frozen=True)
class CustomerPage:
    customer: customers.CustomerView
    summary: customers.CreditSummary
    invoices: list[views.InvoiceView]
    memos: list[views.MemoView]
    credit_visible: bool


@dataclass(frozen=True)
class CustomerChoice:
    """A customer as a picker offers it: ``label`` is what the type-ahead shows and what
    comes back when one is picked (a name used twice is told apart by email or id)."""

    id: str
    name: str
    currency: str
    label: str


MAX_CHOICES = 500


def _choices(rows: list[models.Customer]) -> list[CustomerChoice]:
    seen: dict[str, int] = {}
    for r in rows:
        seen[r.name.casefold()] = seen.get(r.name.casefold(), 0) + 1
    return [CustomerChoice(r.id, r.name, r.currency,
                           f"{r.name} ({r.currency}, {r.email or r.id})"
                           if seen[r.name.casefold()] > 1 else f"{r.name} ({r.currency})")
            for r in rows]


def customer_choices(db: Database, *, actor: Actor) -> list[CustomerChoice]:
    """The partner's customers for a picker, alphabetical (by the name index)."""
    c = models.Customer
    with db.read() as session:
        rows = session.scalars(select(c).where(c.partner_id == actor.partner_id)
                               .order_by(c.name, c.id).limit(MAX_CHOICES)).all()
        return _choices(list(rows))


def customer_by_label(db: Database, *, actor: Actor, text: str) -> str:
    """The id of the customer a picker's text names: a label it offered, or a name only
    one customer has (any case). Otherwise a refusal that says what to do."""
    typed = text.strip()[:pagination.MAX_SEARCH]
    name = typed.rsplit(" (", 1)[0] if typed.endswith(")") else typed
    c = models.Customer
    with db.read() as session:
        rows = session.scalars(select(c).where(
            c.partner_id == actor.partner_id,
            func.lower(c.name).in_({name.lower(), typed.lower()})).order_by(c.name, c.id)
            .limit(MAX_CHOICES)).all()
    options = _choices(list(rows))
    exact = [o for o in options if o.label.casefold() == typed.casefold()]
    if len(exact) == 1:
        return exact[0].id
    if len(options) == 1:
        return options[0].id
    if options:
        raise errors.ValidationError.for_field(
            "customer", f"Several customers are called {name[:80]}: pick one from the list "
            "(each shows its currency and email)")
    raise errors.ValidationError.for_field(
        "customer", f"No customer is called {typed[:80]}: pick one from the list")


def _names(session: Session, partner_id: str, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    c = models.Customer
    return dict(session.execute(select(c.id, c.name).where(c.partner_id == partner_id,
                                                           c.id.in_(sorted(ids)))).all())


def customer_names(db: Database, *, actor: Actor, ids: set[str]) -> dict[str, str]:
    with db.read() as session:
        return _names(session, actor.partner_id, ids)


def memo_list(db: Database, *, actor: Actor,
              **filters: Unpack[memos.MemoFilters]) -> pagination.Page[MemoRow]:
    """S2 (memos.list_memos) with each row's customer name."""
    page = memos.list_memos(db, actor=actor, **filters)
    with db.read() as session:
        names = _names(session, actor.partner_id, {m.customer_id for m in page.data})
    return pagination.Page([MemoRow(m, names.get(m.customer_id, "")) for m in page.data],
                           page.next_cursor)


def _variants(session: Session, partner_id: str, ids: set[str]) -> dict[str, catalog.VariantView]:
    if not ids:
        return {}
    rows = session.scalars(select(models.Variant).where(
        models.Variant.partner_id == partner_id, models.Variant.id.in_(sorted(ids)))).all()
    return {r.id: catalog.variant_view(r) for r in rows}


def variants_by_id(db: Database, *, actor: Actor,
                   ids: set[str]) -> dict[str, catalog.VariantView]:
    """The partner's variants among ``ids`` (unknown or another partner's: left out)."""
    with db.read() as session:
        return _variants(session, actor.partner_id, {i for i in ids if len(i) <= 100})


def list_variants(db: Database, *, actor: Actor, limit: int = 500) -> list[catalog.VariantView]:
    """The catalogue's variants for the line picker, by SKU."""
    with db.read() as session:
        rows = session.scalars(select(models.Variant).where(
            models.Variant.partner_id == actor.partner_id)
            .order_by(models.Variant.sku).limit(limit)).all()
        return [catalog.variant_view(r) for r in rows]


def _applications(session: Session, memo_id: str, currency: str,
                  synced: bool = False) -> list[AppliedRow]:
    ca, inv = models.CreditApplication, models.Invoice
    if synced:  # each application with its own write-back
        return [AppliedRow(a.invoice_id, number, Money(a.amount_minor, currency), a.applied_at,
                           a.applied_by, a.id, a.status, a.write_back_action,
                           a.write_back_error, a.origin)
                for a, number in session.execute(
                    select(ca, inv.number).join(inv, inv.id == ca.invoice_id)
                    .where(ca.credit_memo_id == memo_id).order_by(inv.number, ca.id))]
    rows = session.execute(
        select(ca.invoice_id, inv.number, func.sum(ca.amount_minor), func.max(ca.applied_at),
               func.max(ca.applied_by),
               func.max(case((ca.origin == "automatic", 1), else_=0)))  # AU1
        .join(inv, inv.id == ca.invoice_id).where(ca.credit_memo_id == memo_id)
        .group_by(ca.invoice_id, inv.number).order_by(inv.number)).all()
    return [AppliedRow(r[0], r[1], Money(int(r[2]), currency), r[3], r[4],
                       origin="automatic" if r[5] else "user") for r in rows]


def _candidates(session: Session, actor: Actor, memo: views.MemoView,
                q: str | None) -> list[Candidate]:
    """Y11: native credit goes to native invoices, synced credit to its system's; for
    synced credit, A2's caps less what unanswered write-backs hold."""
    if memo.status not in (s.value for s in memo_rules.CREDIT_STATUSES):
        return []
    inv = models.Invoice
    stmt = select(inv).where(
        inv.partner_id == actor.partner_id, inv.customer_id == memo.customer_id,
        inv.currency == memo.currency, inv.source == memo.source,
        inv.status.in_([s.value for s in app_rules.APPLICABLE_INVOICE_STATUSES]))
    if q and q.strip():
        stmt = stmt.where(inv.number.like(pagination.contains_pattern(q.strip().upper()),
                                          escape="\\"))
    held = _held(session, memo) if memo.read_only else {}
    remaining = memo.remaining_amount - Money(held.get(memo.id, 0), memo.currency)
    out = []
    for row in session.scalars(stmt.order_by(inv.id.desc()).limit(50)):
        balance = invoices.balance_due(row) - Money(held.get(row.id, 0), memo.currency)
        if balance.minor > 0 and remaining.minor > 0:
            out.append(Candidate(row.id, row.number, row.status, row.issue_date, balance,
                                 app_rules.max_application(remaining, balance)))
    return out


def _held(session: Session, memo: views.MemoView) -> dict[str, int]:
    """Credit held by the customer's unanswered write-backs: by memo id and by invoice id."""
    ca = models.CreditApplication
    held: dict[str, int] = {}
    for memo_id, invoice_id, amount in session.execute(
            select(ca.credit_memo_id, ca.invoice_id, ca.amount_minor)
            .join(models.Invoice, models.Invoice.id == ca.invoice_id)
            .where(models.Invoice.customer_id == memo.customer_id, ca.status == "pending",
                   ca.write_back_action == "apply")):
        held[memo_id] = held.get(memo_id, 0) + amount
        held[invoice_id] = held.get(invoice_id, 0) + amount
    return held


def memo_page(db: Database, *, actor: Actor, memo_id: str,
              invoice_q: str | None = None) -> MemoPage:
    """P1's memo detail: fields, lines, applications, journal, inventory, audit trail and
    the invoices it can still be applied to."""
    with db.read() as session:
        row = locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id)
        memo = views.memo_view(row)
        customer = customers.customer_view(session.get_one(models.Customer, row.customer_id))
        original = session.get(models.Invoice, row.invoice_id) if row.invoice_id else None
        apps = _applications(session, row.id, row.currency, synced=row.source != "native")
        variants = _variants(session, actor.partner_id,
                             {li.variant_id for li in memo.lines if li.variant_id})
        candidates = _candidates(session, actor, memo, invoice_q)
    journal = list(ledger.list_entries(db, actor=actor, source_type="credit_memo",
                                       source_id=memo.id, limit=20).data)
    for r in memo.refunds:  # R3: each refund's entry (and its reversal) on the memo's page
        journal += ledger.list_entries(db, actor=actor, source_type=refunds.SOURCE_TYPE,
                                       source_id=r.id, limit=2).data
    journal.sort(key=lambda e: e.id, reverse=True)  # newest first, as listed
    inventory = ledger.list_activities(db, actor=actor, source_id=memo.id, limit=100).data
    trail = audit_trail.list_events(db, actor=actor, entity_type="credit_memo", entity_id=memo.id,
                              limit=100, currency=memo.currency).data
    return MemoPage(memo, customer, original.number if original else None, apps, journal,
                    list(inventory), list(trail), variants, candidates,
                    memo_rules.SOURCE_NAMES[memo_rules.Source(memo.source)],
                    allowed_actions(memo))


def allowed_actions(memo: views.MemoView) -> frozenset[str]:
    """The page's buttons: ``domain.memo.allowed_actions`` (L5) as plain strings; a synced
    memo with credit left offers Apply (Y11: written back to its system)."""
    allowed = memo_rules.allowed_actions(status=memo_rules.MemoStatus(memo.status),
                                         source=memo_rules.Source(memo.source),
                                         applied_minor=memo.applied_amount.minor)
    names = frozenset(a.value for a in allowed)
    if memo.read_only and memo_rules.MemoStatus(memo.status) in memo_rules.CREDIT_STATUSES:
        names |= {memo_rules.Action.APPLY.value}
    if refund_rules.refundable(status=memo_rules.MemoStatus(memo.status),
                               source=memo_rules.Source(memo.source)):
        names |= {"refund"}  # R1
    return names


def invoice_id_by_number(db: Database, *, actor: Actor, number: str) -> str:
    """The id of the partner's invoice numbered ``number`` (as typed in a form): the
    native one (numbers are unique among them) before a synced one of that number, which
    a memo can't be linked to (Y9/Y3: the use case then says why)."""
    inv = models.Invoice
    with db.read() as session:
        found = session.scalar(select(inv.id).where(inv.partner_id == actor.partner_id,
                                                    inv.number == number.strip().upper())
                               .order_by(inv.source != "native", inv.id).limit(1))
    if found is None:
        raise errors.ValidationError.for_field("invoice_number",
                                               f"there is no invoice numbered {number[:40]}")
    return found


def invoice_page(db: Database, *, actor: Actor, invoice_id: str) -> InvoicePage:
    with db.read() as session:
        row = locks.get_scoped(session, models.Invoice, actor.partner_id, invoice_id)
        invoice = invoices.load_view(session, row)
        customer = customers.customer_view(session.get_one(models.Customer, row.customer_id))
        cm = models.CreditMemo
        linked = session.scalars(select(cm).where(cm.invoice_id == row.id)
                                 .options(selectinload(cm.lines), selectinload(cm.refunds))
                                 .order_by(cm.id.desc())).all()
        variants = _variants(session, actor.partner_id,
                             {li.variant_id for li in invoice.lines if li.variant_id})
        ca = models.CreditApplication
        automatic = frozenset(session.scalars(select(ca.credit_memo_id).where(
            ca.invoice_id == row.id, ca.origin == "automatic")))
        return InvoicePage(invoice, customer, [views.memo_view(m) for m in linked], variants,
                           invoice_rules.source_name(invoice.source),
                           tuple(_offers(session, row, invoice)),
                           tuple(_write_backs(session, row.id, row.currency)), automatic,
                           auto_apply_setting.applies(session, actor.partner_id,
                                                      row.customer_id))


def _offers(session: Session, row: models.Invoice,
            invoice: views.InvoiceView) -> list[Offer]:
    """Y11 from the invoice side: the customer's memos of the invoice's currency and source
    with credit left, each capped by A2 (less what pending write-backs hold)."""
    if invoice.status not in (s.value for s in app_rules.APPLICABLE_INVOICE_STATUSES):
        return []
    cm, ca = models.CreditMemo, models.CreditApplication
    memos = session.scalars(select(cm).where(
        cm.partner_id == row.partner_id, cm.customer_id == row.customer_id,
        cm.currency == row.currency, cm.source == row.source,
        cm.status.in_([s.value for s in memo_rules.CREDIT_STATUSES])).order_by(cm.id)).all()
    held: dict[str, int] = {}
    for memo_id, invoice_id, amount in session.execute(
            select(ca.credit_memo_id, ca.invoice_id, ca.amount_minor).where(
                ca.status == "pending", ca.write_back_action == "apply",
                or_(ca.invoice_id == row.id, ca.credit_memo_id.in_([m.id for m in memos])))):
        held[memo_id] = held.get(memo_id, 0) + amount
        if invoice_id == row.id:
            held[row.id] = held.get(row.id, 0) + amount
    balance = invoice.balance_due - Money(held.get(row.id, 0), row.currency)
    out = []
    for m in memos:
        remaining = Money(m.total_minor - m.applied_minor - held.get(m.id, 0), m.currency)
        if remaining.minor > 0 and balance.minor > 0:
            out.append(Offer(m.id, m.number, remaining,
                             app_rules.max_application(remaining, balance)))
    return out


def _write_backs(session: Session, invoice_id: str, currency: str) -> list[WriteBackRow]:
    """Applications to the invoice whose write-back is pending or failed (Y11-Y13)."""
    ca, cm = models.CreditApplication, models.CreditMemo
    return [WriteBackRow(a.id, a.credit_memo_id, number, Money(a.amount_minor, currency),
                         a.status, a.write_back_action, a.write_back_error)
            for a, number in session.execute(
                select(ca, cm.number).join(cm, cm.id == ca.credit_memo_id)
                .where(ca.invoice_id == invoice_id, ca.status != "applied")
                .order_by(ca.id))]


def credit_from_invoice_page(db: Database, *, actor: Actor,
                             invoice_id: str) -> CreditFromInvoicePage:
    with db.read() as session:
        row = locks.get_scoped(session, models.Invoice, actor.partner_id, invoice_id)
        invoice_rules.check_writable(source=row.source, number=row.number)  # Y9/Y3
        invoice = invoices.load_view(session, row)
        customer = customers.customer_view(session.get_one(models.Customer, row.customer_id))
        variants = _variants(session, actor.partner_id,
                             {li.variant_id for li in invoice.lines if li.variant_id})
        return CreditFromInvoicePage(invoice, customer, invoice_credit.of_invoice(session, row),
                                     variants)


def customer_page(db: Database, *, actor: Actor, customer_id: str) -> CustomerPage:
    customer = customers.get_customer(db, actor=actor, customer_id=customer_id)
    summary = customers.credit_summary(db, actor=actor, customer_id=customer_id)
    invs = invoices.list_invoices(db, actor=actor, customer_id=customer_id, limit=50).data
    ms = memos.list_memos(db, actor=actor, customer_id=customer_id, limit=50).data
    with db.read() as session:
        shown = visibility.credit_visible(session, actor.partner_id, customer_id)
    return CustomerPage(customer, summary, list(invs), list(ms), shown)
