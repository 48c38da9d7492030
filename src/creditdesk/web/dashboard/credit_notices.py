"""What the dashboard says after credit is applied or removed, from the memo page or the
invoice page: made here at once, or sent to the accounting system (Y11, Y13), whose job is
woken after the request commits."""

from __future__ import annotations

from fastapi import Request

from creditdesk.domain.invoice import source_name
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.credit_memos.credit import Change
from creditdesk.web import templating


def applied(request: Request, done: Change) -> str:
    """The notice of an application (waking the write-back job when one was sent)."""
    amount = templating.money(done.amount)
    if done.written_back_to is None:
        return f"Applied {amount} of {done.credit_memo_number} to invoice {done.invoice_number}."
    sync_jobs.wake(request.app.state)
    return (f"Sent to {source_name(done.written_back_to)}: {amount} of "
            f"{done.credit_memo_number} to invoice {done.invoice_number}. It shows as pending "
            "until it answers.")


def removed(request: Request, done: Change) -> str:
    """The notice of a removal (waking the write-back job when one was asked for)."""
    if done.written_back_to is None:
        return (f"Removed the credit of {done.credit_memo_number} from invoice "
                f"{done.invoice_number}.")
    sync_jobs.wake(request.app.state)
    return (f"Asked {source_name(done.written_back_to)} to remove the credit of "
            f"{done.credit_memo_number} from invoice {done.invoice_number}.")
