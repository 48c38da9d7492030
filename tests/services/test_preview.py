"""P6 at the service layer: ``preview.rolled_back`` takes back everything a use case did,
counters and deferred callbacks included, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.domain import errors
from creditdesk.services import memo_lifecycle, memos, preview
from tests import factories


def _counter(db, partner_id: str) -> int:
    with db.read() as session:
        return session.scalar(select(models.Counter.value).where(
            models.Counter.partner_id == partner_id, models.Counter.name == "credit_memo"))


def test_p6_a_rolled_back_use_case_gives_its_number_back(db, actor):
    cid = factories.customer(db, actor)
    before = _counter(db, actor.partner_id)
    with preview.rolled_back(db):
        made = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill",
                                 amount="10.00")
        assert memos.get_memo(db, actor=actor, memo_id=made.id).number == made.number
    assert _counter(db, actor.partner_id) == before
    again = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill",
                              amount="10.00")
    assert again.number == made.number  # the number was never used


def test_p6_a_preview_fires_no_after_commit_callback(db, actor):
    cid = factories.customer(db, actor)
    draft = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill",
                              amount="10.00")
    fired = []

    def change():
        memo_lifecycle.issue_memo(db, actor=actor, memo_id=draft.id)
        db.after_commit(lambda: fired.append("woken"))  # as jobs/sync wakes its worker

    p = preview.of(db, actor=actor, memo_id=draft.id, invoice_id=None, change=change)
    assert p.credit_memo.status == "issued" and fired == []
    assert memos.get_memo(db, actor=actor, memo_id=draft.id).status == "draft"
    db.after_commit(lambda: fired.append("outside a preview"))  # runs at once, as before
    assert fired == ["outside a preview"]


def test_p6_a_refused_preview_raises_the_use_cases_error_and_keeps_nothing(db, actor):
    cid = factories.customer(db, actor)
    draft = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill",
                              amount="10.00")
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=draft.id)
    with pytest.raises(errors.InvalidState):
        preview.issue(db, actor=actor, memo_id=draft.id)
    # The database is free again: a real change goes through at once.
    memo_lifecycle.void_memo(db, actor=actor, memo_id=draft.id, reason="typo")
