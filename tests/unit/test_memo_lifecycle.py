"""Driving the pure rules through any sequence of actions keeps L1-L6, A2, C7 and U2 true."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from creditdesk.domain import application as app_rules
from creditdesk.domain import errors
from creditdesk.domain import memo as rules
from creditdesk.domain.memo import Action, MemoStatus, Source
from creditdesk.domain.money import Money

S, A = MemoStatus, Action

# Every status change the lifecycle allows: draft -> issued -> partially_applied -> applied,
# draft | issued -> void, and remove rolling back to issued or partially_applied (U2).
EDGES = {
    (S.DRAFT, S.ISSUED), (S.DRAFT, S.VOID), (S.ISSUED, S.VOID),
    (S.ISSUED, S.PARTIALLY_APPLIED), (S.ISSUED, S.APPLIED),
    (S.PARTIALLY_APPLIED, S.PARTIALLY_APPLIED), (S.PARTIALLY_APPLIED, S.APPLIED),
    (S.PARTIALLY_APPLIED, S.ISSUED), (S.APPLIED, S.PARTIALLY_APPLIED), (S.APPLIED, S.ISSUED),
}
INVOICES = 3


class MemoLifecycle(RuleBasedStateMachine):
    """One native memo and a few invoices of the same customer, all in USD."""

    @initialize(total=st.integers(1, 10**6),
                balances=st.lists(st.integers(1, 10**6), min_size=INVOICES, max_size=INVOICES))
    def start(self, total: int, balances: list[int]) -> None:
        self.status = S.DRAFT
        self.total = total
        self.applied_to = [0] * INVOICES
        self.balances = balances
        self.seen: list[tuple[MemoStatus, MemoStatus]] = []

    @property
    def applied(self) -> int:
        return sum(self.applied_to)

    def allowed(self, action: Action) -> bool:
        try:
            rules.check_allowed(status=self.status, action=action, number="CM-0001",
                                source=Source.NATIVE, applied_minor=self.applied)
        except errors.MemoHasApplications:
            assert action is A.VOID and self.applied > 0  # L5
            return False
        except errors.InvalidState:
            return False
        return True

    def move(self, new: MemoStatus) -> None:
        self.seen.append((self.status, new))
        assert (self.status, new) in EDGES, f"{self.status} -> {new} is not in the lifecycle"
        self.status = new

    @rule(action=st.sampled_from([A.UPDATE, A.DELETE]))
    def edit(self, action: Action) -> None:
        assert self.allowed(action) == (self.status is S.DRAFT)  # L1, L6

    @rule()
    def issue(self) -> None:
        if self.allowed(A.ISSUE):
            assert self.status is S.DRAFT  # L2
            self.move(rules.FIXED_TARGET[A.ISSUE])

    @rule(invoice=st.integers(0, INVOICES - 1), amount=st.integers(1, 10**6))
    def apply(self, invoice: int, amount: int) -> None:
        if not self.allowed(A.APPLY):
            assert self.status not in (S.ISSUED, S.PARTIALLY_APPLIED)  # A1
            return
        remaining = rules.remaining_minor(status=self.status, total_minor=self.total,
                                          applied_minor=self.applied)
        try:
            app_rules.check_application_caps(
                amount=Money(amount, "USD"), memo_remaining=Money(remaining, "USD"),
                invoice_balance=Money(self.balances[invoice], "USD"),
                memo_number="CM-0001", invoice_number=f"INV-{invoice}")
        except (errors.ExceedsMemoRemaining, errors.ExceedsInvoiceBalance):
            assert amount > min(remaining, self.balances[invoice])  # A2
            return
        self.applied_to[invoice] += amount
        self.balances[invoice] -= amount
        self.move(rules.status_for_amounts(total_minor=self.total, applied_minor=self.applied))

    @rule(invoice=st.integers(0, INVOICES - 1))
    def apply_the_most_allowed(self, invoice: int) -> None:
        if self.status in (S.ISSUED, S.PARTIALLY_APPLIED):
            remaining = Money(self.total - self.applied, "USD")
            most = app_rules.max_application(remaining, Money(self.balances[invoice], "USD"))
            if most.minor > 0:
                self.apply(invoice, most.minor)

    @rule(invoice=st.integers(0, INVOICES - 1))
    def remove(self, invoice: int) -> None:
        if not self.allowed(A.REMOVE):
            assert self.applied == 0  # nothing to remove
            return
        if self.applied_to[invoice] == 0:
            return  # the service answers 404: no application to that invoice
        self.balances[invoice] += self.applied_to[invoice]
        self.applied_to[invoice] = 0
        self.move(rules.status_for_amounts(total_minor=self.total, applied_minor=self.applied))

    @rule()
    def void(self) -> None:
        if self.allowed(A.VOID):
            assert self.status in (S.DRAFT, S.ISSUED) and self.applied == 0  # L4, L5
            self.move(rules.FIXED_TARGET[A.VOID])

    @invariant()
    def c7_and_a2_hold(self) -> None:
        remaining = rules.remaining_minor(status=self.status, total_minor=self.total,
                                          applied_minor=self.applied)
        assert 0 <= self.applied <= self.total
        assert all(balance >= 0 for balance in self.balances)
        if self.status is S.VOID:
            assert remaining == 0 and self.applied == 0
        else:
            assert self.applied + remaining == self.total
        if self.status not in (S.DRAFT, S.VOID):
            assert self.status is rules.status_for_amounts(total_minor=self.total,
                                                           applied_minor=self.applied)


MemoLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=30,
                                           deadline=None)
TestL1ToL6A2C7MemoLifecycle = MemoLifecycle.TestCase
