"""Y11-Y13 rules of domain/write_back: which credit meets which invoice, what a pending or
a failed write-back allows, and the back-off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditdesk.domain import errors
from creditdesk.domain import write_back as wb


def test_y11_native_and_synced_documents_never_meet() -> None:
    wb.check_sources(memo_source="native", invoice_source="native", memo_number="CM-1",
                     invoice_number="INV-1")
    wb.check_sources(memo_source="xero", invoice_source="xero", memo_number="CN-1",
                     invoice_number="INV-1")
    with pytest.raises(errors.ReadOnly, match="synced from QuickBooks Online"):
        wb.check_sources(memo_source="native", invoice_source="quickbooks_online",
                         memo_number="CM-1", invoice_number="1037")
    with pytest.raises(errors.ReadOnly, match="not a Xero invoice"):
        wb.check_sources(memo_source="xero", invoice_source="native", memo_number="CN-1",
                         invoice_number="INV-1")
    with pytest.raises(errors.ReadOnly, match="not a Xero invoice"):
        wb.check_sources(memo_source="xero", invoice_source="sage_intacct",
                         memo_number="CN-1", invoice_number="INV-1")


def test_y11_a_pending_write_back_cannot_be_changed() -> None:
    wb.check_not_pending(status="applied", memo_number="CN-1", invoice_number="INV-1",
                         system="xero")
    with pytest.raises(errors.WriteBackPending, match="waiting for Xero's answer"):
        wb.check_not_pending(status="pending", memo_number="CN-1", invoice_number="INV-1",
                             system="xero")


def test_y12_only_a_failed_write_back_is_retried() -> None:
    wb.check_retryable(status="failed", memo_number="CN-1", invoice_number="INV-1")
    for status in ("applied", "pending"):
        with pytest.raises(errors.InvalidState, match="only a failed write-back"):
            wb.check_retryable(status=status, memo_number="CN-1", invoice_number="INV-1")


def test_y12_back_off_doubles_from_the_base() -> None:
    assert [wb.retry_after(n, 60) for n in (1, 2, 3)] == [
        timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert wb.retry_after(1, 1) == timedelta(seconds=1)
