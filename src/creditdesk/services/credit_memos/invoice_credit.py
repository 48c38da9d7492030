"""What an invoice can still be credited, line by line (C5, C6).

A memo line started from an invoice names its invoice line (``invoice_line_id``). The
quantity that line can still be credited is its invoice quantity less the quantity of the
lines of every other non-void memo that credit it. Drafts count (as they do for C5's
amount cap and T3): a draft holds its quantity until it is edited, deleted or voided, so
two drafts can never together promise more than was invoiced, and issuing never has to
re-decide. The page shows which drafts hold what, so a forgotten one is easy to find.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.domain import errors, tax
from creditdesk.domain import lines as line_rules
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money


@dataclass(frozen=True)
class Holder:
    """A memo crediting part of an invoice line."""

    memo_id: str
    number: str
    status: str
    quantity: int
    amount_minor: int = 0  # T3: the amount and the stored tax it credits of the line
    tax_minor: int = 0


@dataclass(frozen=True)
class CreditableLine:
    """One invoice line and how much of it can still be credited."""

    id: str
    number: int  # 1-based, as the invoice shows it
    description: str
    quantity: int
    unit_price: Money
    variant_id: str | None
    holders: list[Holder] = field(default_factory=list)
    tax_rate_id: str | None = None  # T3: the rate a memo line crediting it carries
    amount_minor: int = 0  # the line's amount as entered, and its stored tax
    tax_minor: int = 0
    tax_rate_name: str | None = None

    @property
    def credited(self) -> int:
        """Quantity on issued (or later) memos."""
        return sum(h.quantity for h in self.holders if h.status != "draft")

    @property
    def in_drafts(self) -> int:
        return sum(h.quantity for h in self.holders if h.status == "draft")

    @property
    def remaining(self) -> int:
        return max(0, self.quantity - self.credited - self.in_drafts)

    @property
    def remaining_amount(self) -> Money:
        return self.unit_price.times(self.remaining)

    @property
    def left_to_credit(self) -> tax.Remaining:
        """T3: the line's amount and tax less what the other non-void memos (drafts
        included) credit of it."""
        return tax.Remaining(self.amount_minor - sum(h.amount_minor for h in self.holders),
                             self.tax_minor - sum(h.tax_minor for h in self.holders))


@dataclass(frozen=True)
class InvoiceCredit:
    """C5/C6 for one invoice: its lines with what remains, and the amount cap."""

    invoice_id: str
    number: str
    currency: str
    total: Money
    other_linked: Money  # the totals of the other non-void memos linked to it
    lines: list[CreditableLine]

    @property
    def remaining_total(self) -> Money:
        return self.total - self.other_linked


def other_linked_total(session: Session, invoice_id: str, memo_id: str | None) -> int:
    """Σ total of the non-void memos linked to the invoice, but ``memo_id`` (C5)."""
    cm = models.CreditMemo
    return int(session.scalar(
        select(func.coalesce(func.sum(cm.total_minor), 0))
        .where(cm.invoice_id == invoice_id, cm.status != memo_rules.MemoStatus.VOID.value,
               cm.id != (memo_id or ""))) or 0)


def _holders(session: Session, invoice_id: str,
             memo_id: str | None) -> dict[str, list[Holder]]:
    cm, ml, il = models.CreditMemo, models.CreditMemoLine, models.InvoiceLine
    rows = session.execute(
        select(ml.invoice_line_id, cm.id, cm.number, cm.status, func.sum(ml.quantity),
               func.sum(ml.amount_minor), func.sum(ml.tax_minor))
        .join(cm, cm.id == ml.credit_memo_id).join(il, il.id == ml.invoice_line_id)
        .where(il.invoice_id == invoice_id, cm.status != memo_rules.MemoStatus.VOID.value,
               cm.id != (memo_id or ""))
        .group_by(ml.invoice_line_id, cm.id, cm.number, cm.status).order_by(cm.number)).all()
    out: dict[str, list[Holder]] = defaultdict(list)
    for line_id, mid, number, status, quantity, amount, tax_minor in rows:
        assert line_id is not None  # joined to the invoice line it names
        out[line_id].append(Holder(mid, number, status, int(quantity or 0), int(amount or 0),
                                   int(tax_minor or 0)))
    return out


def of_invoice(session: Session, invoice: models.Invoice,
               memo_id: str | None = None) -> InvoiceCredit:
    """What ``invoice`` can still be credited, leaving memo ``memo_id`` (being edited) out."""
    held = _holders(session, invoice.id, memo_id)
    cur = invoice.currency
    lines = [CreditableLine(li.id, n, li.description, li.quantity or 0,
                            Money(li.unit_price_minor or 0, cur), li.variant_id,
                            held.get(li.id, []), li.tax_rate_id, li.amount_minor, li.tax_minor,
                            li.tax_rate_name)
             # a synced invoice's lines (no whole quantity) are never credited here (Y3)
             for n, li in enumerate(sorted(invoice.lines, key=lambda x: x.position), start=1)
             if not li.synced]
    return InvoiceCredit(invoice.id, invoice.number, cur, Money(invoice.total_minor, cur),
                         Money(other_linked_total(session, invoice.id, memo_id), cur), lines)


def remaining_as_input(credit: InvoiceCredit) -> list[dict[str, object]]:
    """C6's pre-fill: every line that can still be credited, for its remaining quantity."""
    return [{"invoice_line_id": li.id, "quantity": li.remaining} for li in credit.lines
            if li.remaining > 0]


def fill_from_invoice(raw_lines: object, credit: InvoiceCredit | None) -> object:
    """Lines naming an invoice line take its description, unit price and variant unless
    they give their own. A line can name only a line of the memo's own invoice."""
    if not isinstance(raw_lines, list):
        return raw_lines
    by_id = {li.id: li for li in credit.lines} if credit else {}
    out, problems = [], []
    for i, raw in enumerate(raw_lines):
        ref = raw.get("invoice_line_id") if isinstance(raw, dict) else None
        if ref is None:
            out.append(raw)
            continue
        line = by_id.get(ref) if isinstance(ref, str) else None
        if line is None:
            problems.append(errors.FieldError(
                f"lines[{i}].invoice_line_id",
                "is not a line of this memo's invoice" if credit else
                "needs the memo linked to that line's invoice (invoice_id)"))
            continue
        filled = dict(raw)
        for key, default in (("description", line.description),
                             ("unit_price", line.unit_price.to_decimal()),
                             ("variant_id", line.variant_id),
                             ("tax_rate_id", line.tax_rate_id)):
            if filled.get(key) is None:
                filled[key] = default
        if filled["tax_rate_id"] != line.tax_rate_id:  # T3: it carries the line's rate
            problems.append(errors.FieldError(
                f"lines[{i}].tax_rate_id", "must be the tax rate of the invoice line it credits"))
        out.append(filled)
    if problems:
        raise errors.ValidationError("; ".join(f"{p.field} {p.message}" for p in problems),
                                     errors=problems)
    return out


def credited_taxes(credit: InvoiceCredit | None, lines: list[line_rules.Line],
                   rates: dict[str, tax.Rate], *, inclusive: bool) -> list[tax.LineTax]:
    """T3: each memo line's net and tax. A line crediting an invoice line carries the tax
    of what it credits, except the one completing it, which takes exactly the tax left
    (after the other memos, and the lines before it in this memo)."""
    by_id = {li.id: li for li in credit.lines} if credit else {}
    left = {line_id: line.left_to_credit for line_id, line in by_id.items()}
    out = []
    for li in lines:
        rate = rates.get(li.tax_rate_id or "")
        if li.invoice_line_id is None or li.invoice_line_id not in left:
            out.append(tax.line_tax(li.amount.minor, rate, inclusive=inclusive))
            continue
        remaining = left[li.invoice_line_id]
        figures = tax.credited_line_tax(li.amount.minor, rate, inclusive=inclusive,
                                        remaining=remaining)
        left[li.invoice_line_id] = tax.Remaining(remaining.amount - li.amount.minor,
                                                 remaining.tax - figures.tax)
        out.append(figures)
    return out


def check_lines(credit: InvoiceCredit, lines: list[line_rules.Line]) -> None:
    """C5 per line: a line credits at most what its invoice line can still be credited,
    at no more than its unit price and for its variant (what was sold is what returns)."""
    by_id = {li.id: li for li in credit.lines}
    asked: dict[str, int] = defaultdict(int)
    first: dict[str, int] = {}
    problems: list[errors.FieldError] = []
    for i, line in enumerate(lines):
        if line.invoice_line_id is None:
            continue
        src = by_id[line.invoice_line_id]
        asked[src.id] += line.quantity
        first.setdefault(src.id, i)
        if line.unit_price > src.unit_price:
            problems.append(errors.FieldError(
                f"lines[{i}].unit_price",
                f"Line {src.number}: the unit price can't be more than the invoice's "
                f"{src.unit_price}"))
        if line.variant_id != src.variant_id:
            problems.append(errors.FieldError(
                f"lines[{i}].variant_id",
                f"Line {src.number}: the product variant must be the invoice line's"))
    for line_id, quantity in asked.items():
        src = by_id[line_id]
        if quantity > src.remaining:
            problems.append(errors.FieldError(
                f"lines[{first[line_id]}].quantity", _over_message(src, quantity)))
    if problems:
        raise errors.ExceedsInvoiceTotal(
            f"More than invoice {credit.number} can still be credited: "
            + "; ".join(p.message for p in problems) + ".", errors=problems)


def _over_message(src: CreditableLine, asked: int) -> str:
    """"Line 2: only 1 can still be credited, not 3 (3 invoiced, 2 on draft CM-0004)"."""
    held = ", ".join(f"{h.quantity} on " + ("draft " if h.status == "draft" else "") + h.number
                     for h in src.holders)
    if src.remaining == 0:
        text = f"Line {src.number}: nothing more can be credited, not {asked}"
    else:
        text = f"Line {src.number}: only {src.remaining} can still be credited, not {asked}"
    return f"{text} ({src.quantity} invoiced" + (f", {held}" if held else "") + ")"
