"""P6 at the service layer: ``preview.rolled_back`` takes back everything a use case did,
counters and deferred callbacks included, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.domain import errors
from creditdesk.services.credit_memos import memo_lifecycle, memos
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.read_models import preview, visibility_preview
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


# --- P7 --------------------------------------------------------------------------------

def _audit_count(db) -> int:
    with db.read() as session:
        return len(session.scalars(select(models.AuditEvent.id)).all())


def test_p7_toggling_with_exceptions_names_everyone_who_changes(db, actor):
    ids = {n: factories.customer(db, actor, n) for n in ("Globex", "Hooli", "Initech")}
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True,
                               exceptions=[ids["Hooli"]])
    audits = _audit_count(db)
    kept = visibility_preview.show_to_all(db, actor=actor, value=False)
    assert [w.name for w in kept.start] == ["Hooli"]  # the exception flips to shown
    assert [w.name for w in kept.stop] == ["Globex", "Initech"]
    cleared = visibility_preview.show_to_all(db, actor=actor, value=False,
                                             clear_exceptions=True)
    assert cleared.start == [] and [w.name for w in cleared.stop] == ["Globex", "Initech"]
    # Nothing saved, nothing audited.
    setting = visibility.get_setting(db, actor=actor)
    assert setting.show_to_all_customers is True
    assert [e.name for e in setting.exceptions] == ["Hooli"]
    assert _audit_count(db) == audits
    # And the real change does what the preview said.
    with db.read() as session:
        before = set(visibility.audience(session, actor.partner_id))
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=False)
    with db.read() as session:
        after = set(visibility.audience(session, actor.partner_id))
    assert after - before == {w.customer_id for w in kept.start}
    assert before - after == {w.customer_id for w in kept.stop}


def test_p7_an_exception_previews_one_customer(db, actor):
    cid = factories.customer(db, actor, "Globex")
    factories.customer(db, actor, "Hooli")
    added = visibility_preview.add_exception(db, actor=actor, customer_id=cid)
    assert [w.name for w in added.start] == ["Globex"] and added.stop == []  # hidden to all
    assert visibility.get_setting(db, actor=actor).exceptions == []
    with pytest.raises(errors.NotFound):
        visibility_preview.remove_exception(db, actor=actor, customer_id=cid)


def test_p7_audience_agrees_with_credit_visible(db, actor):
    ids = [factories.customer(db, actor, n) for n in ("A", "B", "C")]
    for show in (True, False):
        visibility.replace_setting(db, actor=actor, show_to_all_customers=show,
                                   exceptions=[ids[1]])
        with db.read() as session:
            seen = set(visibility.audience(session, actor.partner_id))
            assert seen == {i for i in ids
                            if visibility.credit_visible(session, actor.partner_id, i)}
