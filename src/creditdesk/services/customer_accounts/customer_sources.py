"""One customer, several sources (Y10): a customer's references to its records in the
connected systems, and the two admin use cases that change them: merge (link two
customers) and unlink (a reference leaves for a customer of its own).

Both lock the customers' rows first, in id order (``db/locks.py``), and run in one
transaction; memos, invoices, suggestions, portal links and sessions follow the customer
in the same transaction, so the credit summary and the portal change at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common import audit, dml, pagination
from creditdesk.services.common.context import Actor, clock, new_id, require_admin
from creditdesk.services.customer_accounts import customers

# The rule a synced customer record with an unknown id is linked by (stated on the pages).
EMAIL_RULE = ("A customer record synced from a connected system is matched by its id in "
              "that system. A record whose id is new joins the existing customer with the "
              "same billing email (ignoring upper and lower case) and the same currency; "
              "when there is none, a new customer is created.")


def list_references(db: Database, *, actor: Actor,
                    customer_id: str) -> list[customers.ReferenceView]:
    with db.read() as session:
        locks.get_scoped(session, models.Customer, actor.partner_id, customer_id)
        return customers.references_of(session, actor.partner_id,
                                       [customer_id]).get(customer_id, [])



def _lock_pair(session: Session, partner_id: str, first: str,
               second: str) -> dict[str, models.Customer]:
    """Both customers' rows, locked in id order (the fixed order: two merges of the same
    pair, in either direction, wait for each other instead of deadlocking)."""
    c = models.Customer
    rows = session.scalars(
        select(c).where(c.partner_id == partner_id, c.id.in_(sorted({first, second})))
        .order_by(c.id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)).all()
    found = {row.id: row for row in rows}
    for wanted in (first, second):
        if wanted not in found:
            raise errors.NotFound(f"No customer with id {wanted}.")
    return found


# The rows that belong to a customer and follow it when it is merged: table → label.
_FOLLOWERS = (
    (models.CreditMemo, "credit_memos"), (models.Invoice, "invoices"),
    (models.Suggestion, "suggestions"), (models.PortalToken, "portal_links"),
    (models.WebSession, "portal_sessions"),
)


@dataclass(frozen=True)
class Outcome:
    """What a merge or an unlink did (or, previewed, would do): ``customer`` is the survivor
    of a merge or the customer an unlink created; ``other`` the merged customer's name or
    the one the reference left; ``moved`` what moved, by kind (as audited)."""

    customer: customers.CustomerView
    other: str
    moved: dict[str, object]
    reference: str | None = None  # an unlink's reference, as "Xero g-61"


class _Preview(Exception):
    """Not an error: carries a previewed outcome out of the transaction it rolls back."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def _run(db: Database, preview: bool, use_case: Callable[[Session], Outcome]) -> Outcome:
    """One transaction; a preview is the same use case, rolled back (P6's rule: what the
    confirmation shows is computed by the code that will do it)."""
    try:
        with db.write() as session:
            outcome = use_case(session)
            if preview:
                raise _Preview(outcome)
            return outcome
    except _Preview as rolled_back:
        return rolled_back.outcome


def merge(db: Database, *, actor: Actor, customer_id: str, merged_customer_id: object,
          preview: bool = False) -> Outcome:
    """Y10: the customer ``merged_customer_id`` is merged into ``customer_id`` (the
    survivor): its references (now linked by ``admin``), memos, invoices, suggestions,
    portal links and portal sessions move to the survivor, and the merged customer is
    deleted. Customers of different currencies are refused (their credit would mix under one
    default currency). The survivor's portal visibility setting is kept."""
    require_admin(actor, "link (merge) and unlink customers")
    if not isinstance(merged_customer_id, str) or not merged_customer_id:
        raise errors.ValidationError.for_field("customer_id", "choose the customer to merge")
    now = clock.now()

    def use_case(session: Session) -> Outcome:
        if merged_customer_id == customer_id:  # found first: another partner's id is a 404
            locks.get_scoped(session, models.Customer, actor.partner_id, customer_id)
            raise errors.ValidationError.for_field(
                "customer_id", "names this same customer: a customer can't be merged into "
                "itself")
        rows = _lock_pair(session, actor.partner_id, customer_id, merged_customer_id)
        survivor, merged = rows[customer_id], rows[merged_customer_id]
        if survivor.currency != merged.currency:
            raise errors.CurrencyMismatch(
                f"{merged.name} bills in {merged.currency} and {survivor.name} in "
                f"{survivor.currency}: customers of different currencies can't be merged.")
        moved: dict[str, object] = {}
        for model, label in _FOLLOWERS:
            n = dml.rowcount(session.execute(
                update(model).where(model.partner_id == actor.partner_id,
                                    model.customer_id == merged.id)
                .values(customer_id=survivor.id)
                .execution_options(synchronize_session=False)))
            if n:
                moved[label] = n
        ref = models.CustomerReference
        refs = session.scalars(select(ref).where(ref.partner_id == actor.partner_id,
                                                 ref.customer_id == merged.id)
                               .order_by(ref.id)).all()
        for r in refs:
            r.customer_id, r.linked_by, r.linked_at = survivor.id, "admin", now
        if refs:
            moved["references"] = [f"{customers.system_name(r.system)} {r.external_id}"
                                   for r in refs]
        exc = models.CreditVisibilityException
        dropped = dml.rowcount(session.execute(
            delete(exc).where(exc.partner_id == actor.partner_id, exc.customer_id == merged.id)
            .execution_options(synchronize_session=False)))
        for other in (models.PortalCreditApplicationException, models.AutoApplyException):
            # P5's and AU1's exceptions of the merged customer go with it (their rows
            # reference it); the survivor keeps its own.
            session.execute(delete(other).where(other.partner_id == actor.partner_id,
                                                other.customer_id == merged.id)
                            .execution_options(synchronize_session=False))
        session.flush()
        session.delete(merged)
        survivor.updated_at = now
        audit.record(session, actor, "customer.merge", "customer", survivor.id, {
            "merged_customer_id": merged.id, "merged_name": merged.name, "moved": moved,
            "visibility_exception_dropped": bool(dropped)})
        audit.record(session, actor, "customer.merged_into", "customer", merged.id, {
            "into_customer_id": survivor.id, "into_name": survivor.name, "moved": moved})
        session.flush()
        view = customers.customer_view(survivor, customers.references_of(
            session, actor.partner_id, [survivor.id]).get(survivor.id, []))
        return Outcome(view, merged.name, moved)

    return _run(db, preview, use_case)


def unlink(db: Database, *, actor: Actor, customer_id: str, reference_id: str,
           preview: bool = False) -> Outcome:
    """Y10: the reference leaves ``customer_id`` for a new customer created from it (the
    system's name and email as first synced, the customer's currency), taking along the
    synced memos that name it."""
    require_admin(actor, "link (merge) and unlink customers")
    now = clock.now()

    def use_case(session: Session) -> Outcome:
        customer = locks.lock_customer(session, actor.partner_id, customer_id)
        ref = models.CustomerReference
        row = session.scalars(select(ref).where(
            ref.partner_id == actor.partner_id, ref.customer_id == customer.id,
            ref.id == reference_id).with_for_update(key_share=True)).one_or_none()
        if row is None:
            raise errors.NotFound(f"{customer.name} has no source with id {reference_id}.")
        cm, app = models.CreditMemo, models.CreditApplication
        memo_ids = list(session.scalars(select(cm.id).where(
            cm.partner_id == actor.partner_id, cm.customer_id == customer.id,
            cm.customer_reference_id == row.id).order_by(cm.id).with_for_update(key_share=True)))
        if memo_ids and session.scalar(select(func.count()).select_from(app).where(
                app.credit_memo_id.in_(memo_ids))):
            raise errors.InvalidState(
                "Credit from this source's memos is applied to invoices here; remove those "
                "applications before unlinking it.")
        new = models.Customer(id=new_id("cus"), partner_id=actor.partner_id, name=row.name,
                              email=row.email, currency=customer.currency, created_at=now,
                              updated_at=now)
        session.add(new)
        session.flush()
        if memo_ids:
            session.execute(update(cm).where(cm.id.in_(memo_ids)).values(customer_id=new.id)
                            .execution_options(synchronize_session=False))
        row.customer_id, row.linked_by, row.linked_at = new.id, "admin", now
        source = f"{customers.system_name(row.system)} {row.external_id}"
        moved: dict[str, object] = {"credit_memos": len(memo_ids)}
        audit.record(session, actor, "customer.unlink", "customer", customer.id, {
            "reference": source, "new_customer_id": new.id, "new_name": new.name,
            "moved": moved})
        audit.record(session, actor, "customer.create_from_reference", "customer", new.id, {
            "reference": source, "from_customer_id": customer.id, "from_name": customer.name,
            "moved": moved})
        session.flush()
        return Outcome(customers.customer_view(new, [customers.reference_view(row)]),
                       customer.name, moved, source)

    return _run(db, preview, use_case)


def merge_candidates(db: Database, *, actor: Actor, customer_id: str,
                     q: str | None = None, limit: int = 20) -> list[customers.CustomerView]:
    """Customers that could be merged into this one (same currency): those whose name or
    email contains ``q``; without ``q``, the likely copies (the same name or the same email,
    ignoring case). Alphabetical."""
    c = models.Customer
    with db.read() as session:
        me = locks.get_scoped(session, c, actor.partner_id, customer_id)
        stmt = select(c).where(c.partner_id == actor.partner_id, c.id != me.id,
                               c.currency == me.currency)
        if q and q.strip():
            pattern = pagination.contains_pattern(q.strip().lower())
            stmt = stmt.where(func.lower(c.name).like(pattern, escape="\\")
                              | func.lower(c.email).like(pattern, escape="\\"))
        else:
            same = func.lower(c.name) == me.name.lower()
            if me.email:
                same = same | (func.lower(c.email) == me.email.lower())
            stmt = stmt.where(same)
        rows = session.scalars(stmt.order_by(func.lower(c.name), c.id).limit(limit)).all()
        refs = customers.references_of(session, actor.partner_id, [r.id for r in rows])
        return [customers.customer_view(r, refs.get(r.id, [])) for r in rows]
