"""Small builders for test data, through the services (never raw rows)."""

from __future__ import annotations

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import memo_lifecycle, memos
from creditdesk.services.customer_accounts import customers
from creditdesk.services.invoicing import catalog, invoices


def customer(db: Database, actor: Actor, name: str = "Globex", currency: str = "USD") -> str:
    return customers.create_customer(db, actor=actor, name=name, currency=currency).id


def invoice(db: Database, actor: Actor, customer_id: str, total: str = "100.00", *,
            currency: str | None = None, issue: bool = True, variant_id: str | None = None,
            quantity: int = 1) -> str:
    line = {"description": "Managed services", "quantity": quantity, "unit_price": total,
            "variant_id": variant_id}
    inv = invoices.create_invoice(db, actor=actor, customer_id=customer_id, lines=[line],
                                  currency=currency)
    if issue:
        invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    return inv.id


def memo(db: Database, actor: Actor, customer_id: str, amount: str = "100.00", *,
         issue: bool = True, reason: str = "goodwill", **kwargs: object) -> str:
    m = memos.create_memo(db, actor=actor, customer_id=customer_id, reason=reason,
                          amount=amount, **kwargs)
    if issue:
        memo_lifecycle.issue_memo(db, actor=actor, memo_id=m.id)
    return m.id


def variant(db: Database, actor: Actor, sku: str = "SKU-1", price: str = "25.00",
            stock: int = 10) -> str:
    p = catalog.create_product(db, actor=actor, name=f"Product {sku}", variants=[
        catalog.VariantInput(sku=sku, name=f"Variant {sku}", price=price, stock_on_hand=stock)])
    return p.variants[0].id


# --- added for the service-layer tests (snapshots and book invariants) -------------------

def snapshot(db: Database, actor: Actor) -> dict[str, object]:
    """Everything of the partner a refused operation must leave unchanged (E3)."""
    from creditdesk.services.accounting import ledger
    from creditdesk.services.read_models import audit_trail

    return {
        "customers": customers.list_customers(db, actor=actor, limit=200).data,
        "memos": memos.list_memos(db, actor=actor, limit=200).data,
        "invoices": invoices.list_invoices(db, actor=actor, limit=200).data,
        "journal": ledger.list_entries(db, actor=actor, limit=200).data,
        "inventory": ledger.list_activities(db, actor=actor, limit=200).data,
        "audit": audit_trail.list_events(db, actor=actor, limit=200).data,
    }


def _every(list_page, **filters) -> list:
    """Every row of a paginated service list (``list_page(limit=, cursor=, **filters)``)."""
    rows, cursor = [], None
    while True:
        page = list_page(limit=200, cursor=cursor, **filters)
        rows.extend(page.data)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def assert_books(db: Database, actor: Actor, currency: str = "USD",
                 variant_ids: tuple[str, ...] = ()) -> None:
    """J1, J2 and J3 for one partner and currency (every entry, invoice and memo: read page
    by page, so a partner with many documents is checked whole)."""
    from creditdesk.services.accounting import ledger

    entries = _every(ledger.list_entries, db=db, actor=actor)
    for e in entries:  # J1: every entry balances
        assert sum(x.debit.minor for x in e.lines) == sum(x.credit.minor for x in e.lines), e
    tb = ledger.trial_balance(db, actor=actor, currency=currency)
    assert tb.total_debit == tb.total_credit, tb  # J1
    ar = next(a for a in tb.accounts if a.code == "1100").balance.minor
    invs = _every(invoices.list_invoices, db=db, actor=actor)
    due = sum(i.balance_due.minor for i in invs
              if i.currency == currency and i.status not in ("draft", "void"))
    ms = _every(memos.list_memos, db=db, actor=actor, source="native",
                statuses=["issued", "partially_applied"])
    credit = sum(m.remaining_amount.minor for m in ms if m.currency == currency)
    assert ar == due - credit, (ar, due, credit)  # J2
    for vid in variant_ids:  # J3
        acts = _every(ledger.list_activities, db=db, actor=actor, variant_id=vid)
        assert catalog.get_variant(db, actor=actor, variant_id=vid).stock_on_hand == sum(
            a.quantity for a in acts)


def synced_invoice(db: Database, actor: Actor, customer_id: str, total: str = "100.00", *,
                   balance: str | None = None, tax: str = "0.00",
                   source: str = "quickbooks_online", external_id: str = "130",
                   number: str = "1042", currency: str = "USD",
                   lines: list[tuple[str, str | None, str]] | None = None,
                   customer_reference_id: str | None = None, voided: bool = False,
                   due_date: object = None) -> str:
    """A synced invoice (Y9) as the sync engine stores one, written as rows: there is no
    use case that creates one apart from a sync. ``paid_minor`` = total - the balance the
    system reports (``balance``, default the total); ``lines`` are (description, the
    system's quantity text or None, amount) and default to one line of the total."""
    from datetime import date

    from creditdesk.db import models
    from creditdesk.domain import application as app_rules
    from creditdesk.domain.money import Money
    from creditdesk.services.common.context import clock, new_id

    now = clock.now()
    total_m, tax_m = Money.parse(total, currency), Money.parse(tax, currency)
    due = Money.parse(balance if balance is not None else total, currency)
    paid = total_m.minor - due.minor
    status = ("void" if voided else app_rules.invoice_status(
        total_minor=total_m.minor, paid_minor=paid, credited_minor=0, currency=currency).value)
    iid = new_id("inv")
    with db.write() as session:
        session.add(models.Invoice(
            id=iid, partner_id=actor.partner_id, customer_id=customer_id, number=number,
            currency=currency, status=status, issue_date=date(2026, 11, 2), due_date=due_date,
            total_minor=total_m.minor, paid_minor=paid, credited_minor=0,
            tax_minor=tax_m.minor, notes=None, source=source, external_id=external_id,
            customer_reference_id=customer_reference_id, issued_at=now,
            voided_at=now if voided else None, created_at=now, updated_at=now))
        session.flush()
        for i, (text, qty, amount) in enumerate(
                lines or [("Managed services", "1", total)]):
            session.add(models.InvoiceLine(
                id=new_id("il"), partner_id=actor.partner_id, invoice_id=iid, position=i,
                description=text, quantity=None, unit_price_minor=None,
                amount_minor=Money.parse(amount, currency).minor, variant_id=None,
                synced=True, reported_quantity=qty))
    return iid
