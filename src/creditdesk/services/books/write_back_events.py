"""What a ``write_back.failed`` event carries (D4): the application and both documents as
they are now. Shared by the write-back job (a refusal) and the sync (a write-back the system
never received: Y14)."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from creditdesk.db import document_statements as docs
from creditdesk.db import models, read_statements
from creditdesk.services.read_models import views


def failed_objects(conn: Connection, partner_id: str,
                   application_id: str) -> dict[str, object]:
    """``write_back.failed``'s objects (D4): the application and both documents now."""
    with Session(bind=conn) as session:
        row = session.get_one(models.CreditApplication, application_id)
        memo = docs.memo_with_lines(conn, partner_id, row.credit_memo_id)
        invoice = read_statements.invoice_whole(conn, partner_id, row.invoice_id)
        assert memo is not None and invoice is not None  # both locked by the caller
        return {"application": views.application_view(row, memo[0].currency),
                "credit_memo": views.memo_view_of(*memo),
                "invoice": views.invoice_view_of(*invoice)}
