"""AU1: issuing an invoice applies the customer's available credit to it.

``issue_invoice`` is the issue of an invoice the API, the pages and the demo make: I3
(``invoicing.invoices.issue_invoice``) and, when the partner's preference reaches the
customer (``customer_accounts.auto_apply_setting``), its available native credit in the
invoice's currency, oldest memo first, up to the balance due (``domain.auto_apply.plan``),
all in one transaction. Each application is an ordinary one (``credit.apply_on``: A1-A6
checked, L3 and I5 statuses, no journal entry), recorded with origin ``automatic`` and
audited by the actor ``automatic``; it is removed like any other (U1-U3).

Lock order (db/locks.py: customer → memo → invoice): the invoice's customer first, then
the customer's memos with credit left in that currency (id order), then the invoice, which
the issue itself locks. Every other change of the customer's credit takes the customer
first, so it waits for the issue to end, and then sees what it applied (A2, A6).
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from creditdesk.db import credit_statements as sql
from creditdesk.db import document_statements as docs
from creditdesk.db import locks, models, read_statements
from creditdesk.db.engine import Database
from creditdesk.domain import auto_apply as rules
from creditdesk.domain import write_back as wb
from creditdesk.domain.application import InvoiceStatus
from creditdesk.domain.memo import Source
from creditdesk.domain.money import Money
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import credit
from creditdesk.services.customer_accounts import auto_apply_setting
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import views

ACTOR_NAME = "automatic"  # AU1: who the audit trail and the applications name


def automatic(actor: Actor) -> Actor:
    """The actor of AU1's applications: the partner's, named ``automatic``."""
    return Actor(actor.partner_id, ACTOR_NAME, role=actor.role)


def issue_invoice(db: Database, *, actor: Actor, invoice_id: str) -> views.InvoiceView:
    """I3, then AU1: the invoice issued with the customer's available credit applied to it
    (when the preference reaches the customer), in one transaction; the answer is the
    invoice after both."""
    with db.write_connection() as conn:
        credit_left = _lock_credit(conn, actor, invoice_id)
        issued = invoices.issue_invoice(db, actor=actor, invoice_id=invoice_id, on=conn)
        if not apply_on_issue(conn, actor, issued, credit_left):
            return issued
        found = read_statements.invoice_whole(conn, actor.partner_id, issued.id)
        assert found is not None  # locked and issued by this transaction
        return views.invoice_view_of(*found)


def _lock_credit(conn: Connection, actor: Actor, invoice_id: str) -> list[rules.Credit]:
    """The customer's row, then (when AU1 will apply credit to this invoice) its memos with
    credit left in the invoice's currency, locked; the invoice itself is locked next, by
    the issue. Nothing beyond the customer when the issue is bound to refuse (a missing,
    synced or already issued invoice: the issue then says why)."""
    locks.lock_owner(conn, actor.partner_id, models.Invoice, invoice_id)
    if not isinstance(invoice_id, str) or not invoice_id:
        return []
    found = docs.invoice_with_lines(conn, actor.partner_id, invoice_id)
    if found is None:
        return []
    invoice = found[0]  # read under the customer's lock, which every change of it takes
    if invoice.source != Source.NATIVE or invoice.status != InvoiceStatus.DRAFT:
        return []
    with Session(bind=conn) as session:
        if not auto_apply_setting.applies(session, actor.partner_id, invoice.customer_id):
            return []
    return [rules.Credit(memo.id, memo.number, issue_date,
                         Money(memo.total_minor - memo.applied_minor, memo.currency))
            for memo, issue_date in sql.lock_available_credit(
                conn, partner_id=actor.partner_id, customer_id=invoice.customer_id,
                currency=invoice.currency)]


def apply_on_issue(conn: Connection, actor: Actor, invoice: views.InvoiceView,
                   credit_left: list[rules.Credit]) -> list[views.ApplicationView]:
    """AU1's applications to the just-issued ``invoice``, oldest memo first."""
    by = automatic(actor)
    planned = rules.plan(credit_left, invoice.balance_due)
    applied = [credit.apply_on(conn, by, c.memo_id, invoice.id, amount, wb.Origin.AUTOMATIC)
               for c, amount in planned]
    if planned:  # E1: the invoice's trail names the memos and the amounts (each memo's too)
        audit.record_on(conn, by, "invoice.auto_apply", "invoice", invoice.id, {
            "number": invoice.number, "currency": invoice.currency,
            "amount": sum((a for _, a in planned), Money(0, invoice.currency)).to_str(),
            "memos": [{"number": c.number, "amount": a.to_str()} for c, a in planned]})
    return applied
