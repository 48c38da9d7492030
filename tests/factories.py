"""Small builders for test data, through the services (never raw rows)."""

from __future__ import annotations

from creditdesk.db.engine import Database
from creditdesk.services import catalog, customers, invoices, memo_lifecycle, memos
from creditdesk.services.context import Actor


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
