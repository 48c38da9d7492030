"""S2 and the invoice list: search by any part of a number, sorting by date, number, total
and remaining (balance), with sorted pages that follow each other (both databases)."""

from __future__ import annotations

from datetime import date

import pytest

from creditdesk.domain import errors
from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.invoicing import invoices
from tests import factories as f


@pytest.fixture
def eighteen(db, actor):
    """CM-0001..CM-0018: totals 10.00..180.00; every third a draft; CM-0018 half applied."""
    cus = f.customer(db, actor)
    ids = [f.memo(db, actor, cus, f"{i * 10}.00", issue=i % 3 != 0,
                  issue_date=date(2026, 1, 19 - i)) for i in range(1, 19)]
    inv = f.invoice(db, actor, cus, "1000.00")
    credit.apply_credit(db, actor=actor, memo_id=ids[16], invoice_id=inv, amount="165.00")
    return ids


def _numbers(page) -> list[str]:
    return [m.number for m in page.data]


def test_s2_search_matches_any_part_of_the_number(db, actor, eighteen):
    assert _numbers(memos.list_memos(db, actor=actor, q="17")) == ["CM-0017"]
    assert _numbers(memos.list_memos(db, actor=actor, q="cm-001")) == [
        f"CM-{i:04d}" for i in range(18, 9, -1)]
    assert len(memos.list_memos(db, actor=actor, q="1").data) == 10  # 1, 10-18
    assert memos.list_memos(db, actor=actor, q="%").data == []  # taken literally


def test_s2_sort_by_total_remaining_number_and_date(db, actor, eighteen):
    by_total = memos.list_memos(db, actor=actor, sort="-total", limit=3)
    assert _numbers(by_total) == ["CM-0018", "CM-0017", "CM-0016"]
    # remaining: CM-0017 has 5.00 left; drafts have their total; nothing is void
    by_remaining = memos.list_memos(db, actor=actor, sort="remaining", limit=2)
    assert _numbers(by_remaining) == ["CM-0017", "CM-0001"]
    assert _numbers(memos.list_memos(db, actor=actor, sort="-number", limit=2)) == [
        "CM-0018", "CM-0017"]
    # issue dates run backwards from CM-0001 (Jan 18) to CM-0018 (Jan 1)
    assert _numbers(memos.list_memos(db, actor=actor, sort="date", statuses=["issued"],
                                     limit=2)) == ["CM-0016", "CM-0014"]


def test_s2_sorted_pages_follow_each_other_and_keep_filters(db, actor, eighteen):
    seen, cursor = [], None
    while True:
        page = memos.list_memos(db, actor=actor, sort="total", statuses=["draft"], limit=4,
                                cursor=cursor)
        seen += _numbers(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [f"CM-{i:04d}" for i in (3, 6, 9, 12, 15, 18)]


def test_bad_sort_or_cursor_is_a_validation_error(db, actor, eighteen):
    with pytest.raises(errors.ValidationError):
        memos.list_memos(db, actor=actor, sort="customer")
    with pytest.raises(errors.ValidationError):
        invoices.list_invoices(db, actor=actor, sort="-remaining")
    with pytest.raises(errors.ValidationError):
        memos.list_memos(db, actor=actor, sort="total", cursor="bm90IGFuIG9mZnNldA")


def test_invoice_list_sorts_by_balance_due_and_finds_any_part(db, actor):
    cus = f.customer(db, actor)
    a = f.invoice(db, actor, cus, "100.00")
    b = f.invoice(db, actor, cus, "300.00")
    invoices.record_payment(db, actor=actor, invoice_id=b, amount="250.00")
    by_balance = invoices.list_invoices(db, actor=actor, sort="-balance")
    assert [i.id for i in by_balance.data] == [a, b]
    assert [i.id for i in invoices.list_invoices(db, actor=actor, q="2").data] == [b]
