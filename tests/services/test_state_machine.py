"""A Hypothesis state machine over the service layer on a real database (ARCHITECTURE.md).

Random sequences of create / issue / apply / remove / pay / void / delete / refund / void
refund / approval request and approval / threshold and automatic-application changes run
through the services, and a plain-Python model predicts each step: the exact domain refusal
(A1, A2, AP1, C5, I4, L1, L4, L5, M1, M2, M4, R1, R2, U2) or the success and its amounts.

- Tax (T1, T2, T4): each partner has a simple and a compound rate; invoice and memo lines
  may carry one; a document's prices may include tax. The model computes each line's tax
  per component, half-up, on its own (inclusive: of gross x r / (1 + r)), and predicts the
  separate tax entries of T4 (a negative net or tax leg moves the other way round).
- Memos started from invoice lines (C5, C6, T3): whole units at the invoice price or at a
  lower one; each memo line carries the T2 tax of what it credits, and the one
  completing the line takes exactly the tax left (negative if small parts rounding up
  took more); every non-void memo counts, drafts included, so deleting or voiding one
  gives its share back. After every step, per invoice line, the tax its memos hold is
  exactly the line's when its amount is credited in full.
- Refunds (R1, R2): a refund uses a memo's credit like an application (capped by the
  remaining credit, ExceedsMemoRemaining beyond) and posts Dr AR / Cr Cash; its void the
  reverse. A memo with refunds not voided can't be voided (MemoHasRefunds).
- Automatic application (AU1): every invoice is issued through ``auto_apply.issue_invoice``;
  when the preference reaches the customer, the model applies the customer's memos with
  credit left, oldest first — by the issue date the system recorded (memos may be dated
  in the past; undated ones take the day they are issued, UTC, so a run crossing midnight
  has two), then by number — up to the balance due, with origin ``automatic``.
- Approvals (AP1): two admins besides the partner's API key; thresholds in USD and EUR may
  be set; issuing a memo at or above its currency's needs its latest request approved by
  an admin other than the one who asked (ApprovalRequired, Forbidden otherwise). A
  rejection needs a comment, leaves the memo a draft that still can't be issued, and a
  new request may follow.

After every step the invariants hold, read back from the database and through the read
models:

- C7  applied to invoices + refunded + remaining = total for every memo that is not void,
      and applied (the credit used) = applied to invoices + refunded; a void memo has
      nothing used or remaining (memo views, lists and the customer credit summary agree).
- J1  the trial balance balances, every entry is two-legged and positive.
- J2  Accounts Receivable = Σ balance due (totals incl. tax) of issued, non-void invoices
      - Σ remaining of issued/partially applied native memos; and Sales Tax Payable (2200)
      = Σ tax of issued non-void invoices - Σ tax of issued non-void memos (T4).
- J3  each variant's stock on hand = Σ of its inventory activities.
- A2  no memo over-used, no invoice over-credited or over-paid; per memo, Σ applications +
      Σ refunds not voided = its used credit, Σ refunds not voided = its refunded part; per
      invoice, applications sum to its credited amount; payments to its paid amount.
- and every memo (total, tax, used, refunded), invoice (total, tax), application (and its
  automatic part), refund, posting and stock level equals the model's.

An expected refusal is a fine step; any other exception fails the run. Each example works
under a partner of its own, so examples never see each other's data.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain.journal import Account, EntryKind
from creditdesk.services.access import partners, users
from creditdesk.services.accounting import ledger
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import (
    approvals,
    auto_apply,
    credit,
    memo_lifecycle,
    memos,
    refunds,
)
from creditdesk.services.customer_accounts import auto_apply_setting, customers
from creditdesk.services.invoicing import catalog, invoices, tax_rates

pytestmark = pytest.mark.slow
SETTINGS = settings(max_examples=30, stateful_step_count=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CREDIT_STATUSES = ("issued", "partially_applied")
AR = Account.ACCOUNTS_RECEIVABLE.value
TAX = Account.SALES_TAX_PAYABLE.value
INVALID_AMOUNTS = ["0", "-1.00", "1.001", "ten"]
PASSWORD = "correct horse"
# T1: the partner's rates, as (name, components as percent strings); one simple, one
# compound (its components add: no tax on tax). Odd percentages, so rounding matters.
RATES = [("Simple", ["8.875"]), ("Compound", ["4.1235", "2.5"])]
PERCENT = 100 * 10_000  # a percent string "8.875" is 88_750 ten-thousandths of a percent


def fmt(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def ten_thousandths(percent: str) -> int:
    whole, _, frac = percent.partition(".")
    return int(whole) * 10_000 + int((frac + "0000")[:4])


def line_tax(amount: int, components: list[str], inclusive: bool = False) -> int:
    """T2, predicted plainly: each component's tax of the line's amount, rounded half-up to
    the cent, added; of a gross amount, x r_i / (1 + r) (inclusive prices)."""
    whole = PERCENT + (sum(ten_thousandths(c) for c in components) if inclusive else 0)
    return sum((2 * amount * ten_thousandths(c) + whole) // (2 * whole) for c in components)


@dataclass
class InvoiceLineModel:
    """An invoice line as T3 sees it: what a memo line crediting it may take."""

    id: str
    quantity: int
    price: int
    rate: str | None
    variant: str | None
    amount: int  # as entered: net (exclusive) or gross (inclusive)
    tax: int


@dataclass
class MemoModel:
    id: str
    number: str
    customer: str
    currency: str
    total: int
    invoice_id: str | None
    lines: list[tuple[str | None, int]]  # (variant, quantity)
    tax: int = 0
    status: str = "draft"
    applied: int = 0  # the credit used: applied to invoices and refunded
    refunded: int = 0  # R1: of ``applied``, the refunds not voided
    request: str | None = None  # AP1: the latest approval request
    inclusive: bool = False
    # T3: (invoice line, units, amount, tax) of each line started from an invoice line
    credits: list[tuple[str, int, int, int]] = field(default_factory=list)
    dated: date | None = None  # the issue date it was created with, if any
    issue_date: date | None = None  # AU1: the date the system recorded when issuing it

    @property
    def remaining(self) -> int:
        return 0 if self.status == "void" else self.total - self.applied


@dataclass
class InvoiceModel:
    id: str
    number: str
    customer: str
    currency: str
    total: int
    lines: list[tuple[str | None, int]]
    tax: int = 0
    status: str = "draft"
    paid: int = 0
    credited: int = 0
    inclusive: bool = False
    tax_lines: list[InvoiceLineModel] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return self.total - self.paid - self.credited

    def recompute(self) -> None:  # I5
        self.status = ("paid" if self.balance == 0 else "partially_paid"
                       if self.paid or self.credited else "open")


@dataclass
class RefundModel:
    memo_id: str
    amount: int
    voided: bool = False


@dataclass
class RequestModel:
    memo_id: str
    requested_by: str | None  # the user who asked (None: the partner's API key)
    status: str = "pending"  # pending, approved, rejected, deleted (with its draft)


def memo_status_for(total: int, applied: int) -> str:  # L3, U2
    return "issued" if applied == 0 else "applied" if applied == total else "partially_applied"


@dataclass
class Model:
    memos: dict[str, MemoModel] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    invoices: dict[str, InvoiceModel] = field(default_factory=dict)
    applications: Counter[tuple[str, str]] = field(default_factory=Counter)
    automatic: Counter[tuple[str, str]] = field(default_factory=Counter)  # AU1's part
    refunds: dict[str, RefundModel] = field(default_factory=dict)
    requests: dict[str, RequestModel] = field(default_factory=dict)
    postings: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    stock: dict[str, int] = field(default_factory=dict)
    memo_count: int = 0
    invoice_count: int = 0
    auto_apply: bool = False  # AU1: the partner's preference
    auto_exceptions: set[str] = field(default_factory=set)  # customers getting the opposite
    thresholds: dict[str, int] = field(default_factory=dict)  # AP1: per currency
    credited_invoices: set[str] = field(default_factory=set)  # T3: memos made from lines

    def auto_applies(self, customer: str) -> bool:
        return self.auto_apply != (customer in self.auto_exceptions)


class CreditDeskMachine(RuleBasedStateMachine):
    """Subclassed per test with ``db`` set to the test's database."""

    db: Database

    def __init__(self) -> None:
        super().__init__()
        db = self.db
        tag = uuid.uuid4().hex[:12]
        p = partners.create_partner(db, name="Machine MSP", admin_email=f"admin-{tag}@sm.test",
                                    admin_password=PASSWORD)
        self.actor: Actor = partners.authenticate_api_key(db, p.api_key)
        # AP1: the partner's admin and a second admin, as people (the API key is not one)
        users.create_user(db, actor=self.actor, email=f"second-{tag}@sm.test",
                          password=PASSWORD, role="admin")
        self.admins = [partners.authenticate_user(db, email=f"{who}-{tag}@sm.test",
                                                  password=PASSWORD)
                       for who in ("admin", "second")]
        self.rates: dict[str, list[str]] = {}
        for name, components in RATES:
            made = tax_rates.create_tax_rate(
                db, actor=self.actor, name=name, rate=components[0]
                if len(components) == 1 else None, components=None if len(components) == 1
                else [{"name": f"Part {i}", "rate": c} for i, c in enumerate(components)])
            self.rates[made.id] = components
        self.customers = [customers.create_customer(db, actor=self.actor, name=n, currency="USD").id
                          for n in ("Alpha", "Beta")]
        self.m = Model()
        self.variants = []
        for sku in ("SKU-1", "SKU-2"):
            product = catalog.create_product(db, actor=self.actor, name=sku, variants=[
                catalog.VariantInput(sku=sku, name=sku, price="25.00", stock_on_hand=50)])
            self.variants.append(product.variants[0].id)
            self.m.stock[product.variants[0].id] = 50

    @initialize(data=st.data())
    def open_accounts(self, data) -> None:
        """Each customer starts with two open invoices and two issued memos, so that credit
        can be applied from the first step; the rules create, issue and void many more.
        An approval threshold (AP1) comes first: a memo it refuses is asked for approval,
        approved and issued (mostly), so that both happen in most runs. Then, often,
        automatic application (AU1). Thresholds in USD (the partner's default currency) and
        EUR (AP1 per currency); each customer's third memo is in EUR; the two before it,
        each maybe dated in the past, give AU1's order something to decide."""
        self._set_threshold(data.draw(st.integers(1, 40000), label="threshold"), "USD")
        self._set_threshold(data.draw(st.integers(1, 40000), label="EUR threshold"), "EUR")
        for customer in self.customers:
            for currency in (None, None, "EUR"):
                self._create_invoice(data, customer, issue=True)
                memo_id = self._create_memo(data, customer, link=None, currency=currency)
                if memo_id:
                    self._issue_memo(memo_id)
                    if self.m.memos[memo_id].status == "draft":
                        self._request_approval(data, memo_id)
        for customer in self.customers:  # T3: a memo from an invoice's lines each
            self._create_from_lines(data, next(i for i in self.m.invoices.values()
                                               if i.customer == customer).id)
        if data.draw(st.booleans(), label="auto-apply at start"):
            self._set_auto_apply(True)

    # --- helpers ---------------------------------------------------------------------------

    def attempt(self, expected: type[errors.DomainError] | None, call):
        """Run one use case: it must be refused with exactly ``expected``, or succeed when
        ``expected`` is None. Anything but a domain error propagates and fails the run."""
        try:
            result = call()
        except errors.DomainError as exc:
            assert expected is not None, f"refused with {type(exc).__name__}: {exc}"
            assert type(exc) is expected, (
                f"expected {expected.__name__}, refused with {type(exc).__name__}: {exc}")
            return None
        assert expected is None, f"expected {expected.__name__}, but it succeeded"
        return result

    def draw_lines(self, data, inclusive: bool = False) -> tuple[list[dict], int, int]:
        """Lines (each maybe with a tax rate, T1), their net and their tax (T2), with prices
        exclusive or inclusive of tax."""
        raw = data.draw(st.lists(st.tuples(st.sampled_from([None, *self.variants]),
                                           st.integers(1, 3), st.integers(1, 9000),
                                           st.sampled_from([None, *sorted(self.rates)])),
                                 min_size=1, max_size=2), label="lines")
        lines = [{"description": "Item", "quantity": q, "unit_price": fmt(p), "variant_id": v,
                  "tax_rate_id": r} for v, q, p, r in raw]
        tax = sum(line_tax(q * p, self.rates[r], inclusive) for _, q, p, r in raw if r)
        gross = sum(q * p for _, q, p, _ in raw)
        return lines, gross - tax if inclusive else gross, tax

    def draw_dated(self, data) -> date | None:
        """Mostly no issue date (the day it is issued); else a day in the past (AU1 orders
        by it)."""
        days = data.draw(st.one_of(st.none(), st.integers(1, 4)), label="dated")
        return None if days is None else datetime.now(UTC).date() - timedelta(days=days)

    def draw_amount(self, data, how: str, exact: dict[str, int], fit: int) -> tuple[int, str]:
        """An amount in minor units (at least 1) and the string sent: one of the ``exact``
        edge cases, a part of ``fit``, a random one, or an invalid string."""
        if how == "invalid":
            return 0, data.draw(st.sampled_from(INVALID_AMOUNTS), label="invalid amount")
        if how == "part":
            amount = data.draw(st.integers(1, max(1, fit)), label="part")
        elif how == "random":
            amount = data.draw(st.integers(1, 40000), label="random amount")
        else:
            amount = max(1, exact[how])
        return amount, fmt(amount)

    def pick_memo(self, data, *statuses: str) -> str:
        """Mostly a memo in one of ``statuses`` (where the step can succeed), else any memo,
        deleted drafts included."""
        preferred = sorted(i for i, m in self.m.memos.items() if m.status in statuses)
        if preferred and data.draw(st.integers(0, 3), label="preferred memo") < 3:
            return data.draw(st.sampled_from(preferred), label="memo")
        return data.draw(st.sampled_from(sorted(self.m.memos) + self.m.deleted), label="memo")

    def pick_invoice(self, data, *statuses: str, customer: str | None = None) -> str:
        """Mostly an invoice in one of ``statuses`` (of ``customer``), else any invoice."""
        preferred = sorted(i for i, inv in self.m.invoices.items() if inv.status in statuses
                           and customer in (None, inv.customer))
        if preferred and data.draw(st.integers(0, 3), label="preferred invoice") < 3:
            return data.draw(st.sampled_from(preferred), label="invoice")
        return data.draw(st.sampled_from(sorted(self.m.invoices)), label="invoice")

    def post(self, kind: EntryKind, amount: int, currency: str) -> None:
        if amount:  # T4: no tax entry for no tax; a negative leg moves the other way round
            self.m.postings[(kind.value, abs(amount), currency)] += 1

    def move_stock(self, lines: list[tuple[str | None, int]], sign: int) -> None:
        for variant, qty in lines:
            if variant:
                self.m.stock[variant] += sign * qty

    # --- memos: create, issue, void, delete (C2-C5, L1, L2, L4, L5) -----------------------

    @rule(data=st.data())
    def create_memo(self, data) -> None:
        customer = data.draw(st.sampled_from(self.customers), label="customer")
        link = None
        if self.m.invoices and data.draw(st.booleans(), label="linked"):
            link = self.pick_invoice(data, "open", "partially_paid", "paid", customer=customer)
        currency = None if link else data.draw(st.sampled_from([None, None, "EUR"]))
        memo_id = self._create_memo(data, customer, link=link, currency=currency)
        if memo_id and not data.draw(st.integers(0, 2), label="ask approval now"):
            self._request_approval(data, memo_id)  # AP1 (what swarm runs may otherwise skip)

    def _create_memo(self, data, customer: str, *, link: str | None,
                     currency: str | None) -> str | None:
        # a linked memo prices as its invoice does (T1); another may say it includes tax
        inclusive = (self.m.invoices[link].inclusive if link
                     else data.draw(st.booleans(), label="inclusive"))
        dated = self.draw_dated(data)
        if data.draw(st.booleans(), label="with lines"):
            lines, net, tax = self.draw_lines(data, inclusive)
            amount, total = None, net + tax
            model_lines = [(li["variant_id"], li["quantity"]) for li in lines]
        else:
            total, tax = data.draw(st.integers(1, 60000), label="amount"), 0
            lines, amount, model_lines = None, fmt(total), []
        expected = None
        if link:
            inv = self.m.invoices[link]
            others = sum(m.total for m in self.m.memos.values()
                         if m.invoice_id == link and m.status != "void")
            if inv.customer != customer:
                expected = errors.CustomerMismatch
            elif inv.status in ("draft", "void"):
                expected = errors.InvalidState
            elif total > inv.total - others:
                expected = errors.ExceedsInvoiceTotal  # C5
        view = self.attempt(expected, lambda: memos.create_memo(
            self.db, actor=self.actor, customer_id=customer, reason="goodwill", amount=amount,
            lines=lines, currency=currency, invoice_id=link, issue_date=dated,
            tax_inclusive=None if link else inclusive))
        if view is None:
            return None
        self.m.memo_count += 1
        assert view.number == f"CM-{self.m.memo_count:04d}"  # C3
        assert (view.status, view.total.minor) == ("draft", total)  # C4
        assert view.tax_total is not None and view.tax_total.minor == tax  # T2
        assert view.tax_inclusive == inclusive
        self.m.memos[view.id] = MemoModel(view.id, view.number, customer, currency or "USD",
                                          total, link, model_lines, tax, inclusive=inclusive,
                                          dated=dated)
        return view.id

    @precondition(lambda self: self.m.invoices)
    @rule(data=st.data())
    def create_memo_from_invoice_lines(self, data) -> None:
        """C6, T3: a memo crediting lines of an invoice — what is left of a line, one unit,
        or any number (more than is left: refused) — at the invoice's unit price or a lower
        one. The model predicts each line's tax from what the other non-void memos (drafts
        included) hold of the line: T2 of its amount capped by the tax left, or exactly the
        tax left when it completes the line."""
        started = sorted(self.m.credited_invoices)
        if started and data.draw(st.booleans(), label="an invoice credited by lines"):
            # where T3's completion rule decides (the rest of a line partly credited), and
            # where memos voided or deleted gave their share back
            self._create_from_lines(data, data.draw(st.sampled_from(started), label="invoice"))
        else:
            self._create_from_lines(data, self.pick_invoice(data, "open", "partially_paid",
                                                            "paid"))

    def _create_from_lines(self, data, invoice_id: str) -> None:
        inv = self.m.invoices[invoice_id]
        others = [m for m in self.m.memos.values()
                  if m.invoice_id == inv.id and m.status != "void"]
        units_held, left = Counter(), {}
        for li in inv.tax_lines:
            held = [c for m in others for c in m.credits if c[0] == li.id]
            units_held[li.id] = sum(c[1] for c in held)
            left[li.id] = (li.amount - sum(c[2] for c in held), li.tax - sum(c[3] for c in held))
        partly = [li for li in inv.tax_lines if 0 < units_held[li.id] < li.quantity]
        picks = data.draw(st.lists(st.sampled_from(
            partly if partly and data.draw(st.booleans(), label="partly credited lines")
            else inv.tax_lines), min_size=1, max_size=2), label="invoice lines")
        asked, credits, raw, seen = Counter(), [], [], []
        for li in picks:
            how = data.draw(st.sampled_from(["left", "left", "one", "one", "any"]),
                            label="units")
            units = (max(1, li.quantity - units_held[li.id] - asked[li.id]) if how == "left"
                     else 1 if how == "one" else data.draw(st.integers(1, li.quantity + 1)))
            price = li.price
            if li.price > 1 and not data.draw(st.integers(0, 3), label="at a lower price"):
                price = data.draw(st.integers(1, li.price - 1), label="lower price")
            amount, (amount_left, tax_left) = units * price, left[li.id]
            t2 = line_tax(amount, self.rates[li.rate], inv.inclusive) if li.rate else 0
            if amount == amount_left:  # T3: the line that completes takes the tax left
                tax = tax_left
                seen.append("T3: a memo line completes its invoice line")
            else:  # T3: T2 of what it credits
                tax = t2
                if tax > tax_left:
                    seen.append("T3: small parts have credited more than the line's tax")
            left[li.id] = (amount_left - amount, tax_left - tax)
            asked[li.id] += units
            credits.append((li.id, units, amount, tax))
            raw.append({"invoice_line_id": li.id, "quantity": units, "unit_price": fmt(price)})
        tax = sum(c[3] for c in credits)
        total = sum(c[2] for c in credits) + (0 if inv.inclusive else tax)
        if inv.status in ("draft", "void"):
            expected = errors.InvalidState  # C5: an issued invoice
        elif any(asked[i] > li.quantity - units_held[i] for li in inv.tax_lines
                 for i in [li.id]):
            expected = errors.ExceedsInvoiceTotal  # C5 per line: its units left
        elif total > inv.total - sum(m.total for m in others):
            expected = errors.ExceedsInvoiceTotal  # C5: the invoice's total left
        else:
            expected = None
        dated = self.draw_dated(data)
        view = self.attempt(expected, lambda: memos.create_from_invoice(
            self.db, actor=self.actor, invoice_id=inv.id, reason="returned_goods", lines=raw,
            issue_date=dated))
        if view is None:
            return
        self.m.memo_count += 1
        assert view.number == f"CM-{self.m.memo_count:04d}"
        assert (view.status, view.total.minor, view.tax_total.minor) == ("draft", total, tax)
        assert [(li.invoice_line_id, li.tax.minor if li.tax else 0) for li in view.lines] == [
            (c[0], c[3]) for c in credits]
        for what in [*seen, "T3: a memo from invoice lines" + " (inclusive)" * inv.inclusive]:
            event(what)
        by_id = {li.id: li for li in inv.tax_lines}
        self.m.credited_invoices.add(inv.id)
        self.m.memos[view.id] = MemoModel(
            view.id, view.number, inv.customer, inv.currency, total, inv.id,
            [(by_id[c[0]].variant, c[1]) for c in credits], tax, inclusive=inv.inclusive,
            credits=credits, dated=dated)
        if not data.draw(st.integers(0, 2), label="ask approval now"):
            self._request_approval(data, view.id)
        elif data.draw(st.booleans(), label="issue now"):
            self._issue_memo(view.id)

    @precondition(lambda self: self.m.memos)
    @rule(data=st.data())
    def issue_memo(self, data) -> None:
        self._issue_memo(self.pick_memo(data, "draft"))

    def _issue_memo(self, memo_id: str) -> None:
        memo = self.m.memos.get(memo_id)
        if memo is None:
            expected = errors.NotFound
        elif memo.status != "draft":
            expected = errors.InvalidState
        elif (memo.currency in self.m.thresholds
              and memo.total >= self.m.thresholds[memo.currency]
              and (memo.request is None or self.m.requests[memo.request].status != "approved")):
            expected = errors.ApprovalRequired  # AP1: its currency's threshold
            event(f"AP1: approval required ({memo.currency})")
        else:
            expected = None
        before = datetime.now(UTC).date()
        view = self.attempt(expected, lambda: memo_lifecycle.issue_memo(
            self.db, actor=self.actor, memo_id=memo_id))
        if view is None:
            return
        assert memo is not None
        # L2: the date it was given, else the day it is issued (UTC): the model keeps the
        # date the system recorded, which AU1 orders by
        assert view.issue_date == memo.dated or (
            memo.dated is None and view.issue_date in (before, datetime.now(UTC).date()))
        memo.issue_date = view.issue_date
        memo.status = "issued"
        self.post(EntryKind.MEMO_ISSUE, memo.total - memo.tax, memo.currency)  # T4
        self.post(EntryKind.MEMO_ISSUE_TAX, memo.tax, memo.currency)
        self.move_stock(memo.lines, +1)  # L2: variant lines restock, service lines don't

    @precondition(lambda self: self.m.memos)
    @rule(data=st.data())
    def void_memo(self, data) -> None:
        # voidable memos, or (L5) memos with credit applied
        memo_id = self.pick_memo(data, *data.draw(st.sampled_from(
            [("draft", "issued"), ("partially_applied", "applied")]), label="void which"))
        memo = self.m.memos.get(memo_id)
        reason = data.draw(st.sampled_from(["Entered twice", "Entered twice", " "]))
        if not reason.strip():
            expected = errors.ValidationError  # L4: a reason is required
        elif memo is None:
            expected = errors.NotFound
        elif memo.applied > memo.refunded:
            expected = errors.MemoHasApplications  # L5
        elif memo.refunded:
            expected = errors.MemoHasRefunds  # R2
        elif memo.status not in ("draft", "issued"):
            expected = errors.InvalidState
        else:
            expected = None
        if self.attempt(expected, lambda: memo_lifecycle.void_memo(
                self.db, actor=self.actor, memo_id=memo_id, reason=reason)) is None:
            return
        assert memo is not None
        if memo.status == "issued":  # L4: reverse what issuing did
            self.post(EntryKind.MEMO_VOID, memo.total - memo.tax, memo.currency)
            self.post(EntryKind.MEMO_VOID_TAX, memo.tax, memo.currency)
            self.move_stock(memo.lines, -1)
        memo.status = "void"

    @precondition(lambda self: self.m.memos)
    @rule(data=st.data())
    def delete_memo(self, data) -> None:
        memo_id = self.pick_memo(data, "draft")
        memo = self.m.memos.get(memo_id)
        expected = (errors.NotFound if memo is None
                    else None if memo.status == "draft" else errors.InvalidState)  # L1
        self.attempt(expected, lambda: memos.delete_memo(self.db, actor=self.actor,
                                                         memo_id=memo_id))
        if expected is None:
            del self.m.memos[memo_id]
            self.m.deleted.append(memo_id)
            for request in self.m.requests.values():  # its requests go with it
                if request.memo_id == memo_id:
                    request.status = "deleted"

    # --- invoices and payments (I2-I5) ------------------------------------------------------

    @rule(data=st.data())
    def create_invoice(self, data) -> None:
        customer = data.draw(st.sampled_from(self.customers), label="customer")
        self._create_invoice(data, customer,
                             issue=data.draw(st.integers(0, 3), label="issue now") < 3)

    def _create_invoice(self, data, customer: str, *, issue: bool) -> None:
        inclusive = not data.draw(st.integers(0, 2), label="inclusive")
        lines, net, tax = self.draw_lines(data, inclusive)
        view = invoices.create_invoice(self.db, actor=self.actor, customer_id=customer,
                                       lines=lines, tax_inclusive=inclusive)
        self.m.invoice_count += 1
        assert view.number == f"INV-{self.m.invoice_count:04d}"
        assert (view.subtotal.minor, view.tax_total.minor, view.total.minor) == (
            net, tax, net + tax)  # T2
        tax_lines = []
        for li, got in zip(lines, view.lines, strict=True):
            price = int(li["unit_price"].replace(".", ""))
            rate = li["tax_rate_id"]
            amount = li["quantity"] * price
            tax_lines.append(InvoiceLineModel(
                got.id, li["quantity"], price, rate, li["variant_id"], amount,
                line_tax(amount, self.rates[rate], inclusive) if rate else 0))
            assert (got.tax.minor if got.tax else 0) == tax_lines[-1].tax  # T2 per line
        self.m.invoices[view.id] = InvoiceModel(
            view.id, view.number, customer, "USD", net + tax,
            [(li["variant_id"], li["quantity"]) for li in lines], tax, inclusive=inclusive,
            tax_lines=tax_lines)
        if issue:
            self._issue_invoice(view.id)

    def _issue_invoice(self, invoice_id: str) -> None:
        """I3 as the product issues an invoice: with AU1's automatic application."""
        inv = self.m.invoices[invoice_id]
        expected = None if inv.status == "draft" else errors.InvalidState
        if self.attempt(expected, lambda: auto_apply.issue_invoice(
                self.db, actor=self.actor, invoice_id=invoice_id)) is None:
            return
        inv.status = "open"
        self.post(EntryKind.INVOICE_ISSUE, inv.total - inv.tax, inv.currency)  # T4
        self.post(EntryKind.INVOICE_ISSUE_TAX, inv.tax, inv.currency)
        self.move_stock(inv.lines, -1)
        if not self.m.auto_applies(inv.customer):
            return
        # AU1: the customer's native memos of the currency with credit left, oldest first:
        # by the issue date the system recorded, then by number; up to the balance due
        for memo in sorted((m for m in self.m.memos.values()
                            if m.customer == inv.customer and m.currency == inv.currency
                            and m.status in CREDIT_STATUSES and m.remaining),
                           key=lambda m: (m.issue_date, int(m.number.removeprefix("CM-")))):
            if memo.issue_date != datetime.now(UTC).date():
                event("AU1: a memo dated before today applied")
            amount = min(memo.remaining, inv.balance)
            if amount <= 0:
                break
            self._apply(memo, inv, amount)
            self.m.automatic[(memo.id, inv.id)] += amount

    @precondition(lambda self: self.m.invoices)
    @rule(data=st.data())
    def issue_invoice(self, data) -> None:
        self._issue_invoice(self.pick_invoice(data, "draft"))

    @precondition(lambda self: self.m.invoices)
    @rule(data=st.data())
    def void_invoice(self, data) -> None:
        inv = self.m.invoices[self.pick_invoice(data, "draft", "open")]
        expected = (errors.InvalidState if inv.status == "void" or inv.paid or inv.credited
                    else None)
        if self.attempt(expected, lambda: invoices.void_invoice(
                self.db, actor=self.actor, invoice_id=inv.id)) is None:
            return
        if inv.status != "draft":
            self.post(EntryKind.INVOICE_VOID, inv.total - inv.tax, inv.currency)
            self.post(EntryKind.INVOICE_VOID_TAX, inv.tax, inv.currency)
            self.move_stock(inv.lines, +1)
        inv.status = "void"

    @precondition(lambda self: self.m.invoices)
    @rule(data=st.data())
    def record_payment(self, data) -> None:
        inv = self.m.invoices[self.pick_invoice(data, "open", "partially_paid")]
        how = data.draw(st.sampled_from(["part", "part", "balance", "over", "random", "invalid"]))
        amount, raw = self.draw_amount(data, how, {"balance": inv.balance,
                                                   "over": inv.balance + 1}, inv.balance)
        if how == "invalid":
            expected = errors.ValidationError  # M1, M2
        elif inv.status not in ("open", "partially_paid"):
            expected = errors.InvalidState
        elif amount > inv.balance:
            expected = errors.ExceedsInvoiceBalance  # I4
        else:
            expected = None
        if self.attempt(expected, lambda: invoices.record_payment(
                self.db, actor=self.actor, invoice_id=inv.id, amount=raw)) is None:
            return
        inv.paid += amount
        inv.recompute()
        self.post(EntryKind.PAYMENT, amount, inv.currency)

    # --- applying and removing credit (A1-A5, U1-U3) ---------------------------------------

    @precondition(lambda self: self.m.memos and self.m.invoices)
    @rule(data=st.data())
    def apply_credit(self, data) -> None:
        memo_id = self.pick_memo(data, *CREDIT_STATUSES)
        memo = self.m.memos.get(memo_id)
        invoice_id = self.pick_invoice(data, "open", "partially_paid",
                                       customer=memo.customer if memo else None)
        inv = self.m.invoices[invoice_id]
        remaining = memo.total - memo.applied if memo else 0
        how = data.draw(st.sampled_from(
            ["part", "part", "part", "fit", "remaining", "balance", "over memo", "over invoice",
             "random", "invalid"]))
        fit = min(remaining, inv.balance)
        amount, raw = self.draw_amount(data, how, {
            "fit": fit, "remaining": remaining, "balance": inv.balance,
            "over memo": remaining + 1, "over invoice": inv.balance + 1}, fit)
        if memo is None:
            expected = errors.NotFound
        elif memo.customer != inv.customer:
            expected = errors.CustomerMismatch  # M4
        elif memo.currency != inv.currency:
            expected = errors.CurrencyMismatch  # M4
        elif memo.status not in CREDIT_STATUSES or inv.status not in ("open", "partially_paid"):
            expected = errors.InvalidState  # A1
        elif how == "invalid":
            expected = errors.ValidationError
        elif amount > remaining:
            expected = errors.ExceedsMemoRemaining  # A2
        elif amount > inv.balance:
            expected = errors.ExceedsInvoiceBalance  # A2
        else:
            expected = None
        if self.attempt(expected, lambda: credit.apply_credit(
                self.db, actor=self.actor, memo_id=memo_id, invoice_id=invoice_id,
                amount=raw)) is None:
            return
        assert memo is not None
        self._apply(memo, inv, amount)

    def _apply(self, memo: MemoModel, inv: InvoiceModel, amount: int) -> None:
        memo.applied += amount
        memo.status = memo_status_for(memo.total, memo.applied)
        inv.credited += amount
        inv.recompute()
        self.m.applications[(memo.id, inv.id)] += amount  # A4: no posting

    @precondition(lambda self: self.m.memos and self.m.invoices)
    @rule(data=st.data())
    def remove_credit(self, data) -> None:
        pairs = sorted(p for p, v in self.m.applications.items() if v)
        if pairs and data.draw(st.integers(0, 3), label="applied pair") < 3:
            memo_id, invoice_id = data.draw(st.sampled_from(pairs), label="pair")
        else:
            memo_id, invoice_id = self.pick_memo(data), self.pick_invoice(data)
        memo, inv = self.m.memos.get(memo_id), self.m.invoices[invoice_id]
        amount = self.m.applications[(memo_id, invoice_id)]
        if memo is None:
            expected = errors.NotFound
        elif memo.customer != inv.customer:
            expected = errors.CustomerMismatch
        elif memo.currency != inv.currency:
            expected = errors.CurrencyMismatch
        elif not amount:
            expected = errors.NotFound  # nothing of this memo on that invoice
        else:
            expected = None
        if self.attempt(expected, lambda: credit.remove_credit(
                self.db, actor=self.actor, memo_id=memo_id, invoice_id=invoice_id)) is None:
            return
        assert memo is not None
        memo.applied -= amount  # U2: every application of the pair goes
        memo.status = memo_status_for(memo.total, memo.applied)
        inv.credited -= amount
        inv.recompute()  # U3
        del self.m.applications[(memo_id, invoice_id)]
        self.m.automatic.pop((memo_id, invoice_id), None)  # AU1: removed like any other

    # --- refunds (R1, R2) --------------------------------------------------------------------

    @precondition(lambda self: self.m.memos)
    @rule(data=st.data())
    def refund(self, data) -> None:
        memo_id = self.pick_memo(data, *CREDIT_STATUSES)
        memo = self.m.memos.get(memo_id)
        remaining = memo.total - memo.applied if memo else 0
        how = data.draw(st.sampled_from(["part", "part", "remaining", "over memo", "random",
                                         "invalid"]))
        amount, raw = self.draw_amount(data, how, {"remaining": remaining,
                                                   "over memo": remaining + 1}, remaining)
        method = data.draw(st.sampled_from(["card", "check", "bank_transfer", "barter"]),
                           label="method")
        if method == "barter":
            expected = errors.ValidationError  # R1: a method of the list
        elif memo is None:
            expected = errors.NotFound
        elif memo.status not in CREDIT_STATUSES:
            expected = errors.InvalidState  # R1: draft, void or fully used
        elif how == "invalid":
            expected = errors.ValidationError  # M1, M2
        elif amount > remaining:
            expected = errors.ExceedsMemoRemaining  # R1: A2's cap
        else:
            expected = None
        done = self.attempt(expected, lambda: refunds.refund_memo(
            self.db, actor=self.actor, memo_id=memo_id, amount=raw, method=method))
        if done is None:
            return
        assert memo is not None
        self._refunded(memo, amount)
        self.m.refunds[done.refund.id] = RefundModel(memo_id, amount)
        self.post(EntryKind.REFUND, amount, memo.currency)  # Dr AR / Cr Cash
        assert (done.credit_memo.status, done.credit_memo.remaining_amount.minor) == (
            memo.status, memo.remaining)

    def _refunded(self, memo: MemoModel, amount: int) -> None:
        """R1/R2: a refund (negative: its void) uses credit; the status follows (L3, U2)."""
        memo.applied += amount
        memo.refunded += amount
        memo.status = memo_status_for(memo.total, memo.applied)

    @precondition(lambda self: self.m.refunds)
    @rule(data=st.data())
    def void_refund(self, data) -> None:
        active = sorted(i for i, r in self.m.refunds.items() if not r.voided)
        if active and data.draw(st.integers(0, 3), label="active refund") < 3:
            refund_id = data.draw(st.sampled_from(active), label="refund")
        else:
            refund_id = data.draw(st.sampled_from(sorted(self.m.refunds)), label="refund")
        refund = self.m.refunds[refund_id]
        memo_id = (refund.memo_id if data.draw(st.integers(0, 5), label="its memo")
                   else self.pick_memo(data))
        memo = self.m.memos.get(memo_id)
        if memo is None or memo_id != refund.memo_id:
            expected = errors.NotFound
        elif refund.voided or memo.status == "void":
            expected = errors.InvalidState  # R2
        else:
            expected = None
        if self.attempt(expected, lambda: refunds.void_refund(
                self.db, actor=self.actor, memo_id=memo_id, refund_id=refund_id)) is None:
            return
        assert memo is not None
        refund.voided = True
        self._refunded(memo, -refund.amount)
        self.post(EntryKind.REFUND_VOID, refund.amount, memo.currency)  # Dr Cash / Cr AR

    # --- automatic application (AU1) and approvals (AP1) --------------------------------

    @rule(data=st.data())
    def change_auto_apply(self, data) -> None:
        if data.draw(st.booleans(), label="partner flag"):
            self._set_auto_apply(not self.m.auto_apply)
            return
        customer = data.draw(st.sampled_from(self.customers), label="exception")
        if customer in self.m.auto_exceptions:
            auto_apply_setting.remove_exception(self.db, actor=self.actor, customer_id=customer)
            self.m.auto_exceptions.remove(customer)
        else:
            auto_apply_setting.add_exception(self.db, actor=self.actor, customer_id=customer)
            self.m.auto_exceptions.add(customer)

    def _set_auto_apply(self, flag: bool) -> None:
        auto_apply_setting.set_enabled(self.db, actor=self.actor, flag=flag)
        self.m.auto_apply = flag

    @rule(data=st.data())
    def change_threshold(self, data) -> None:
        self._set_threshold(data.draw(st.one_of(st.none(), st.integers(1, 40000)),
                                      label="threshold"),
                            data.draw(st.sampled_from(["USD", "EUR"]), label="currency"))

    def _set_threshold(self, minor: int | None, currency: str) -> None:
        """A threshold among the memos' totals (or none) in USD, the partner's default
        currency, or EUR: some memos need an approval."""
        approvals.change_threshold(self.db, actor=self.actor, currency=currency,
                                   amount=None if minor is None else fmt(minor))
        if minor is None:
            self.m.thresholds.pop(currency, None)
        else:
            self.m.thresholds[currency] = minor

    @precondition(lambda self: self.m.memos)
    @rule(data=st.data())
    def request_approval(self, data) -> None:
        unasked = sorted(i for i, m in self.m.memos.items() if m.status == "draft"
                         and not self.open_request(m))
        if unasked and data.draw(st.integers(0, 3), label="unasked draft") < 3:
            memo_id = data.draw(st.sampled_from(unasked), label="memo")
        else:
            memo_id = self.pick_memo(data, "draft")
        self._request_approval(data, memo_id)

    def _request_approval(self, data, memo_id: str) -> None:
        memo = self.m.memos.get(memo_id)
        asker = data.draw(st.sampled_from([self.actor, *self.admins]), label="asker")
        if memo is None:
            expected = errors.NotFound
        elif memo.status != "draft":
            expected = errors.InvalidState
        elif self.open_request(memo):
            expected = errors.InvalidState  # one open request per memo
        else:
            expected = None
        view = self.attempt(expected, lambda: approvals.request_approval(
            self.db, actor=asker, memo_id=memo_id))
        if view is None:
            return
        assert memo is not None and view.status == "pending"
        self.m.requests[view.id] = RequestModel(memo_id, asker.user_id)
        memo.request = view.id
        # often approved (and the draft issued) or rejected by the other admin at once, so
        # that issues needing an approval and having it, and rejections, happen in most runs
        decide = data.draw(st.sampled_from(["later", "approve", "approve", "reject"]),
                           label="decide now")
        other = next(a for a in self.admins if a.user_id != asker.user_id)
        if decide == "approve":
            self._approve(data, view.id, other)
            if data.draw(st.integers(0, 3), label="issue now"):
                self._issue_memo(memo_id)
        elif decide == "reject":
            self._reject(data, view.id, other)

    def open_request(self, memo: MemoModel) -> bool:
        return memo.request is not None and self.m.requests[memo.request].status in (
            "pending", "approved")

    @precondition(lambda self: self.m.requests)
    @rule(data=st.data())
    def approve(self, data) -> None:
        pending = sorted(i for i, r in self.m.requests.items() if r.status == "pending")
        if pending and data.draw(st.integers(0, 3), label="pending request") < 3:
            request_id = data.draw(st.sampled_from(pending), label="request")
        else:
            request_id = data.draw(st.sampled_from(sorted(self.m.requests)), label="request")
        self._approve(data, request_id,
                      data.draw(st.sampled_from([self.actor, *self.admins]), label="decider"))

    def _approve(self, data, request_id: str, decider: Actor) -> None:
        request = self.m.requests[request_id]
        memo = self.m.memos.get(request.memo_id)
        if request.status == "deleted":
            expected = errors.NotFound  # deleted with its draft
        elif decider.user_id is None or decider.user_id == request.requested_by:
            expected = errors.Forbidden  # a person, not the one who asked (four eyes)
        elif request.status != "pending" or memo is None or memo.status != "draft":
            expected = errors.InvalidState
        else:
            expected = None
        if self.attempt(expected, lambda: approvals.approve(
                self.db, actor=decider, request_id=request_id)) is None:
            return
        request.status = "approved"

    @precondition(lambda self: self.m.requests)
    @rule(data=st.data())
    def reject(self, data) -> None:
        """AP1: a rejection, which needs a comment, leaves the memo a draft; a new request
        may follow (often at once)."""
        pending = sorted(i for i, r in self.m.requests.items() if r.status == "pending")
        if pending and data.draw(st.integers(0, 3), label="pending request") < 3:
            request_id = data.draw(st.sampled_from(pending), label="request")
        else:
            request_id = data.draw(st.sampled_from(sorted(self.m.requests)), label="request")
        self._reject(data, request_id,
                     data.draw(st.sampled_from([self.actor, *self.admins]), label="decider"))

    def _reject(self, data, request_id: str, decider: Actor) -> None:
        request = self.m.requests[request_id]
        memo = self.m.memos.get(request.memo_id)
        comment = data.draw(st.sampled_from(["Too much", "Too much", "Too much", "", None]),
                            label="comment")
        if request.status == "deleted":
            expected = errors.NotFound  # deleted with its draft
        elif comment is None or not comment.strip():
            expected = errors.ValidationError  # a rejection says why
        elif decider.user_id is None or decider.user_id == request.requested_by:
            expected = errors.Forbidden
        elif request.status != "pending" or memo is None or memo.status != "draft":
            expected = errors.InvalidState
        else:
            expected = None
        view = self.attempt(expected, lambda: approvals.reject(
            self.db, actor=decider, request_id=request_id, comment=comment))
        if view is None:
            return
        assert memo is not None and view.status == "rejected"
        request.status = "rejected"  # the memo stays a draft: the invariant reads it back
        event("AP1: a request rejected")
        if data.draw(st.booleans(), label="ask again"):
            self._issue_memo(memo.id)  # refused while the latest request is rejected
            self._request_approval(data, memo.id)

    # --- after every step ------------------------------------------------------------------

    @invariant()
    def c7_j1_j2_j3_a2_and_model_hold(self) -> None:
        snap = self._snapshot()
        self._check_c7(snap)
        self._check_j1(snap)
        self._check_j2(snap)
        self._check_j3(snap)
        self._check_a2(snap)
        self._check_t3(snap)
        self._check_model(snap)

    def _snapshot(self) -> dict:
        pid = self.actor.partner_id
        ca, pay, ia = models.CreditApplication, models.Payment, models.InventoryActivity
        rf = models.Refund
        il, ml, cm = models.InvoiceLine, models.CreditMemoLine, models.CreditMemo
        with self.db.read() as s:
            snap = {
                "memos": {r.id: r for r in s.scalars(select(models.CreditMemo).where(
                    models.CreditMemo.partner_id == pid))},
                "invoices": {r.id: r for r in s.scalars(select(models.Invoice).where(
                    models.Invoice.partner_id == pid))},
                "apps": Counter({(m, i): int(a) for m, i, a in s.execute(
                    select(ca.credit_memo_id, ca.invoice_id, func.sum(ca.amount_minor))
                    .where(ca.partner_id == pid).group_by(ca.credit_memo_id, ca.invoice_id))}),
                "automatic": Counter({(m, i): int(a) for m, i, a in s.execute(
                    select(ca.credit_memo_id, ca.invoice_id, func.sum(ca.amount_minor))
                    .where(ca.partner_id == pid, ca.origin == "automatic")
                    .group_by(ca.credit_memo_id, ca.invoice_id))}),
                "refunds": {r.id: (r.credit_memo_id, r.amount_minor, r.voided_at is not None)
                            for r in s.scalars(select(rf).where(rf.partner_id == pid))},
                "payments": {i: int(a) for i, a in s.execute(
                    select(pay.invoice_id, func.sum(pay.amount_minor))
                    .where(pay.partner_id == pid).group_by(pay.invoice_id))},
                "entries": list(s.scalars(select(models.JournalEntry).where(
                    models.JournalEntry.partner_id == pid))),
                "variants": {r.id: r.stock_on_hand for r in s.scalars(select(
                    models.Variant).where(models.Variant.partner_id == pid))},
                "activities": {v: int(q) for v, q in s.execute(
                    select(ia.variant_id, func.sum(ia.quantity))
                    .where(ia.partner_id == pid).group_by(ia.variant_id))},
                # T3: what each invoice line charged, and what its non-void memos credit
                "invoice_lines": {i: (a, t) for i, a, t in s.execute(
                    select(il.id, il.amount_minor, il.tax_minor).join(
                        models.Invoice, models.Invoice.id == il.invoice_id)
                    .where(models.Invoice.partner_id == pid))},
                "credited_lines": {i: (int(a), int(t)) for i, a, t in s.execute(
                    select(ml.invoice_line_id, func.sum(ml.amount_minor), func.sum(ml.tax_minor))
                    .join(cm, cm.id == ml.credit_memo_id)
                    .where(cm.partner_id == pid, cm.status != "void",
                           ml.invoice_line_id.is_not(None))
                    .group_by(ml.invoice_line_id))},
                "requests": {r.id: r.status for r in s.scalars(select(
                    models.ApprovalRequest).where(models.ApprovalRequest.partner_id == pid))},
            }
        snap["memo_views"] = {v.id: v for v in memos.list_memos(
            self.db, actor=self.actor, limit=200).data}
        snap["trial"] = {cur: ledger.trial_balance(self.db, actor=self.actor, currency=cur)
                         for cur in ("USD", "EUR")}
        return snap

    def _check_c7(self, snap: dict) -> None:
        views = snap["memo_views"]
        assert set(views) == set(snap["memos"])
        for view in views.values():
            if view.status == "void":
                assert view.remaining_amount.minor == 0 and view.applied_amount.minor == 0
            else:
                assert view.refunded_amount is not None, view.number
                assert (view.applied_to_invoices + view.refunded_amount
                        + view.remaining_amount == view.total), view.number
                assert (view.applied_to_invoices + view.refunded_amount
                        == view.applied_amount), view.number
        one = next(iter(views), None)
        if one:  # the single-memo read agrees with the list
            assert memos.get_memo(self.db, actor=self.actor, memo_id=one) == views[one]
        for customer in self.customers:  # S1 agrees: Σ remaining of issued/partially applied
            summary = customers.credit_summary(self.db, actor=self.actor, customer_id=customer)
            for m in summary.memos:
                view = views[m.id]
                assert (m.remaining_amount, m.total) == (view.remaining_amount, view.total)
            expected = Counter()
            for v in views.values():
                if v.customer_id == customer and v.status in CREDIT_STATUSES:
                    expected[v.currency] += v.remaining_amount.minor
            assert {b.currency: b.minor for b in summary.balances} == dict(expected)

    def _check_j1(self, snap: dict) -> None:
        for e in snap["entries"]:
            assert e.amount_minor > 0 and e.debit_account != e.credit_account
        for tb in snap["trial"].values():
            assert tb.total_debit == tb.total_credit

    def _check_j2(self, snap: dict) -> None:
        for cur, tb in snap["trial"].items():
            ar = next(a for a in tb.accounts if a.code == AR).balance.minor
            due = sum(i.total_minor - i.paid_minor - i.credited_minor
                      for i in snap["invoices"].values()
                      if i.currency == cur and i.status not in ("draft", "void"))
            remaining = sum(m.total_minor - m.applied_minor for m in snap["memos"].values()
                            if m.currency == cur and m.source == "native"
                            and m.status in CREDIT_STATUSES)
            assert ar == due - remaining, f"J2 broken in {cur}: AR {ar} != {due} - {remaining}"
            # T4: Sales Tax Payable (a credit balance) = tax invoiced - tax credited
            payable = -next(a for a in tb.accounts if a.code == TAX).balance.minor
            invoiced = sum(i.tax_minor for i in snap["invoices"].values()
                           if i.currency == cur and i.status not in ("draft", "void"))
            credited = sum(m.tax_minor for m in snap["memos"].values()
                           if m.currency == cur and m.status not in ("draft", "void"))
            assert payable == invoiced - credited, f"T4 broken in {cur}"

    def _check_j3(self, snap: dict) -> None:
        for variant_id, on_hand in snap["variants"].items():
            assert on_hand == snap["activities"].get(variant_id, 0), variant_id

    def _check_a2(self, snap: dict) -> None:
        per_memo, per_invoice, refunded = Counter(), Counter(), Counter()
        for (m, i), amount in snap["apps"].items():
            per_memo[m] += amount
            per_invoice[i] += amount
        for m, amount, voided in snap["refunds"].values():
            if not voided:
                refunded[m] += amount
        for m in snap["memos"].values():
            assert 0 <= m.applied_minor <= m.total_minor, m.number
            assert per_memo[m.id] + refunded[m.id] == m.applied_minor, m.number  # R1
            assert refunded[m.id] == m.refunded_minor, m.number
        for i in snap["invoices"].values():
            assert i.paid_minor + i.credited_minor <= i.total_minor, i.number
            assert per_invoice[i.id] == i.credited_minor, i.number
            assert snap["payments"].get(i.id, 0) == i.paid_minor, i.number

    def _check_t3(self, snap: dict) -> None:
        """T3 per invoice line: its non-void memos (drafts included) credit no more than
        its amount; a line credited in full returns exactly its tax."""
        for line_id, (amount, tax) in snap["credited_lines"].items():
            line_amount, line_tax_ = snap["invoice_lines"][line_id]
            assert 0 < amount <= line_amount, line_id
            if amount == line_amount:
                assert tax == line_tax_, f"T3: {tax} of {line_tax_} tax when complete"

    def _check_model(self, snap: dict) -> None:
        assert set(snap["memos"]) == set(self.m.memos)
        assert not set(self.m.deleted) & set(snap["memos"])
        for memo_id, row in snap["memos"].items():
            memo = self.m.memos[memo_id]
            assert (row.number, row.customer_id, row.currency, row.invoice_id, row.status,
                    row.total_minor, row.tax_minor, row.applied_minor, row.refunded_minor,
                    row.tax_inclusive) == (
                memo.number, memo.customer, memo.currency, memo.invoice_id, memo.status,
                memo.total, memo.tax, memo.applied, memo.refunded, memo.inclusive)
            assert row.issue_date == (memo.dated if memo.issue_date is None
                                      else memo.issue_date)
            view = snap["memo_views"][memo_id]
            assert view.remaining_amount.minor == memo.remaining
            if memo.status != "void":
                assert view.refunded_amount is not None
                assert (view.applied_amount.minor, view.refunded_amount.minor) == (
                    memo.applied, memo.refunded)
        assert set(snap["invoices"]) == set(self.m.invoices)
        for invoice_id, row in snap["invoices"].items():
            inv = self.m.invoices[invoice_id]
            assert (row.number, row.status, row.total_minor, row.tax_minor, row.paid_minor,
                    row.credited_minor) == (inv.number, inv.status, inv.total, inv.tax,
                                            inv.paid, inv.credited)
        assert snap["requests"] == {i: r.status for i, r in self.m.requests.items()
                                    if r.status != "deleted"}  # AP1
        assert snap["apps"] == +self.m.applications
        assert snap["automatic"] == +self.m.automatic  # AU1
        assert snap["refunds"] == {i: (r.memo_id, r.amount, r.voided)
                                   for i, r in self.m.refunds.items()}
        assert Counter((e.kind, e.amount_minor, e.currency)
                       for e in snap["entries"]) == self.m.postings
        assert snap["variants"] == self.m.stock


def test_state_machine_c7_j1_j2_j3_a2(db: Database) -> None:
    machine = type("Machine", (CreditDeskMachine,), {"db": db})
    run_state_machine_as_test(machine, settings=SETTINGS)
