"""Customer credit summary and memo lists: S1, S2 (both databases)."""

from __future__ import annotations

import pytest

from creditdesk.db import models
from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.common import context
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.customer_accounts import customers
from tests import factories as f


def _synced_memo(db, actor, customer_id, total_minor, applied_minor, status, *,
                 currency="USD", source="quickbooks_online", number=None):
    """A memo as the accounting sync stores it (no sync service exists yet to make one)."""
    now = context.clock.now()
    memo_id = context.new_id("cm")
    with db.write() as s:
        s.add(models.CreditMemo(
            id=memo_id, partner_id=actor.partner_id, customer_id=customer_id,
            number=number or f"QB-{memo_id[-4:]}", currency=currency, reason="other", status=status,
            total_minor=total_minor, applied_minor=applied_minor, source=source,
            external_id=memo_id, void_reason="voided at source" if status == "void" else None,
            created_at=now, updated_at=now))
    return memo_id


@pytest.fixture
def book(db, actor):
    """One memo in every status for one customer, and one memo for another customer."""
    cus, other = f.customer(db, actor), f.customer(db, actor, "Initech")
    inv = f.invoice(db, actor, cus, "1000.00")
    ids = {"draft": f.memo(db, actor, cus, "1.00", issue=False),
           "issued": f.memo(db, actor, cus, "2.00"),
           "partially_applied": f.memo(db, actor, cus, "3.00"),
           "applied": f.memo(db, actor, cus, "4.00"),
           "void": f.memo(db, actor, cus, "5.00"),
           "other": f.memo(db, actor, other, "6.00")}
    credit.apply_credit(db, actor=actor, memo_id=ids["partially_applied"], invoice_id=inv,
                        amount="1.00")
    credit.apply_credit(db, actor=actor, memo_id=ids["applied"], invoice_id=inv, amount="4.00")
    memo_lifecycle.void_memo(db, actor=actor, memo_id=ids["void"], reason="dup")
    return cus, other, ids


def _ids(page):
    return [m.id for m in page.data]


# --- S1 -----------------------------------------------------------------------------

def test_s1_available_credit_is_remaining_of_issued_and_partially_applied(db, actor, book):
    cus, _, ids = book
    s = customers.credit_summary(db, actor=actor, customer_id=cus)
    assert s.customer_id == cus
    assert s.balances == [Money(400, "USD")]  # 2.00 issued + 2.00 left of 3.00
    assert {m.id: (m.status, m.remaining_amount.minor) for m in s.memos} == {
        ids["issued"]: ("issued", 200), ids["partially_applied"]: ("partially_applied", 200)}


def test_s1_summary_is_per_currency_and_counts_synced_memos(db, actor):
    cus = f.customer(db, actor)
    f.memo(db, actor, cus, "10.00")
    f.memo(db, actor, cus, "3.00", currency="EUR")
    qbo = _synced_memo(db, actor, cus, 5000, 1500, "partially_applied")
    xero = _synced_memo(db, actor, cus, 700, 0, "issued", currency="EUR", source="xero")
    _synced_memo(db, actor, cus, 900, 900, "applied")
    _synced_memo(db, actor, cus, 800, 0, "void")
    s = customers.credit_summary(db, actor=actor, customer_id=cus)
    assert s.balances == [Money(1000, "EUR"), Money(4500, "USD")]
    by_id = {m.id: m for m in s.memos}
    assert len(by_id) == 4
    assert (by_id[qbo].source, by_id[qbo].remaining_amount) == (
        "quickbooks_online", Money(3500, "USD"))
    assert (by_id[xero].source, by_id[xero].remaining_amount) == ("xero", Money(700, "EUR"))


def test_s1_customer_without_credit_has_an_empty_summary(db, actor):
    cus = f.customer(db, actor)
    f.memo(db, actor, cus, "5.00", issue=False)
    s = customers.credit_summary(db, actor=actor, customer_id=cus)
    assert (s.balances, s.memos) == ([], [])


# --- S2 -----------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["draft", "issued", "partially_applied", "applied", "void"])
def test_s2_list_filters_by_status(db, actor, book, status):
    _, _, ids = book
    expected = {ids[status]} | ({ids["other"]} if status == "issued" else set())
    page = memos.list_memos(db, actor=actor, statuses=[status])
    assert set(_ids(page)) == expected and all(m.status == status for m in page.data)


def test_s2_list_all_and_several_statuses(db, actor, book):
    _, _, ids = book
    assert set(_ids(memos.list_memos(db, actor=actor))) == set(ids.values())
    both = memos.list_memos(db, actor=actor, statuses=["draft", "void"])
    assert set(_ids(both)) == {ids["draft"], ids["void"]}


def test_s2_unknown_status_or_source_is_refused(db, actor):
    with pytest.raises(errors.ValidationError, match="status"):
        memos.list_memos(db, actor=actor, statuses=["open"])
    with pytest.raises(errors.ValidationError, match="source"):
        memos.list_memos(db, actor=actor, source="netsuite")


def test_s2_list_filters_by_customer(db, actor, book):
    cus, other, ids = book
    assert _ids(memos.list_memos(db, actor=actor, customer_id=other)) == [ids["other"]]
    assert set(_ids(memos.list_memos(db, actor=actor, customer_id=cus))) == (
        set(ids.values()) - {ids["other"]})


def test_s2_list_filters_by_source(db, actor):
    cus = f.customer(db, actor)
    native = f.memo(db, actor, cus, "1.00")
    qbo = _synced_memo(db, actor, cus, 100, 0, "issued")
    xero = _synced_memo(db, actor, cus, 100, 0, "issued", source="xero")
    assert _ids(memos.list_memos(db, actor=actor, source="native")) == [native]
    assert _ids(memos.list_memos(db, actor=actor, source="quickbooks_online")) == [qbo]
    assert _ids(memos.list_memos(db, actor=actor, source="xero")) == [xero]
    [synced] = memos.list_memos(db, actor=actor, source="xero").data
    assert synced.read_only


def test_s2_list_filters_by_remaining_credit(db, actor, book):
    _, _, ids = book
    with_credit = memos.list_memos(db, actor=actor, has_remaining=True)
    assert set(_ids(with_credit)) == {ids["issued"], ids["partially_applied"], ids["other"]}
    assert all(m.remaining_amount.minor > 0 for m in with_credit.data)
    without = memos.list_memos(db, actor=actor, has_remaining=False)
    assert set(_ids(without)) == {ids["draft"], ids["applied"], ids["void"]}


def test_s2_filters_combine(db, actor, book):
    cus, _, ids = book
    page = memos.list_memos(db, actor=actor, customer_id=cus, has_remaining=True,
                            statuses=["partially_applied", "applied"], source="native")
    assert _ids(page) == [ids["partially_applied"]]


def test_s2_search_by_memo_number(db, actor):
    cus = f.customer(db, actor)
    made = {memos.create_memo(db, actor=actor, customer_id=cus, reason="other",
                              amount="1.00").number: None for _ in range(12)}
    assert len(made) == 12
    [hit] = memos.list_memos(db, actor=actor, q="CM-0007").data
    assert hit.number == "CM-0007"
    assert [m.number for m in memos.list_memos(db, actor=actor, q=" cm-001 ").data] == [
        "CM-0012", "CM-0011", "CM-0010"]
    assert memos.list_memos(db, actor=actor, q="CM-9").data == []
    # LIKE wildcards typed by a user are taken literally
    assert memos.list_memos(db, actor=actor, q="CM-00_1").data == []
    assert memos.list_memos(db, actor=actor, q="%").data == []


def test_s2_number_search_ignores_case_on_both_databases(db, actor):
    cus = f.customer(db, actor)
    synced = _synced_memo(db, actor, cus, 100, 0, "issued", number="cn-abc")
    native = f.memo(db, actor, cus, "1.00")
    assert _ids(memos.list_memos(db, actor=actor, q="cn-a")) == [synced]
    assert _ids(memos.list_memos(db, actor=actor, q="CN-ABC")) == [synced]
    assert _ids(memos.list_memos(db, actor=actor, q="cm-0001")) == [native]


def test_s2_newest_first_with_cursor_pagination(db, actor):
    cus = f.customer(db, actor)
    created = [f.memo(db, actor, cus, "1.00", issue=False) for _ in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        page = memos.list_memos(db, actor=actor, limit=3, cursor=cursor)
        assert len(page.data) <= 3
        seen += _ids(page)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(created)) and pages == 3
    numbers = [m.number for m in memos.list_memos(db, actor=actor).data]
    assert numbers == [f"CM-{n:04d}" for n in range(7, 0, -1)]
    exact = memos.list_memos(db, actor=actor, limit=7)
    assert len(exact.data) == 7 and exact.next_cursor is None


def test_s2_pagination_keeps_the_filters(db, actor, book):
    _, _, ids = book
    first = memos.list_memos(db, actor=actor, has_remaining=True, limit=2)
    rest = memos.list_memos(db, actor=actor, has_remaining=True, limit=2,
                            cursor=first.next_cursor)
    assert _ids(first) + _ids(rest) == [ids["other"], ids["partially_applied"], ids["issued"]]
    assert rest.next_cursor is None


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"cursor": "!!not-base64"}, "cursor")])
def test_s2_bad_page_arguments_are_refused(db, actor, kwargs, field):
    with pytest.raises(errors.ValidationError) as exc:
        memos.list_memos(db, actor=actor, **kwargs)
    assert exc.value.errors[0].field == field
