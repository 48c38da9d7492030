"""AP1 in the service layer: the rules by themselves, and the races that matter on
PostgreSQL (an approval and an edit of one draft; two approvals of one request), with a
smaller SQLite variant of each (its IMMEDIATE transactions must serialise them too)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import approval as rules
from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.access import partners, users
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import approvals, memo_lifecycle, memos
from tests import factories
from tests.concurrency import SQLITE, count, new_actor, race, settle

PASSWORD = "long enough"


def person(db: Database, admin: Actor, email: str, role: str = "admin") -> Actor:
    users.create_user(db, actor=admin, email=email, password=PASSWORD, role=role)
    return partners.authenticate_user(db, email=email, password=PASSWORD)


def setup(db: Database, *, threshold: str = "1000.00") -> tuple[Actor, Actor, Actor, str]:
    """A partner with a USD threshold, two admins (ann, bob) and a customer."""
    key = new_actor(db)
    approvals.replace_settings(db, actor=key, thresholds=[{"currency": "USD",
                                                            "amount": threshold}])
    tag = key.partner_id[-8:]
    ann = person(db, key, f"ann-{tag}@acme.test")
    bob = person(db, key, f"bob-{tag}@acme.test")
    return key, ann, bob, factories.customer(db, key)


# --- the rules --------------------------------------------------------------------------


def test_ap1_needs_approval_at_or_above_the_threshold_only():
    t = Money(100_000, "USD")
    assert rules.needs_approval(Money(100_000, "USD"), t)
    assert rules.needs_approval(Money(100_001, "USD"), t)
    assert not rules.needs_approval(Money(99_999, "USD"), t)
    assert not rules.needs_approval(Money(10**12, "USD"), None)


def test_ap1_issue_is_refused_unless_approved():
    t, total = Money(100, "USD"), Money(100, "USD")
    for status in (None, rules.RequestStatus.PENDING, rules.RequestStatus.REJECTED,
                   rules.RequestStatus.WITHDRAWN):
        with pytest.raises(errors.ApprovalRequired):
            rules.check_issue(number="CM-1", total=total, threshold=t, status=status,
                              decided_by="user:bob@x.test")
    rules.check_issue(number="CM-1", total=total, threshold=t,
                      status=rules.RequestStatus.APPROVED)


def test_ap1_only_another_admin_person_decides():
    with pytest.raises(errors.Forbidden, match="partner-wide"):
        rules.check_decider(rules.Decider(None, "admin"), requested_by_user_id=None)
    with pytest.raises(errors.Forbidden, match="four eyes"):
        rules.check_decider(rules.Decider("usr_a", "admin"), requested_by_user_id="usr_a")
    with pytest.raises(errors.Forbidden, match="administrator"):
        rules.check_decider(rules.Decider("usr_b", "staff"), requested_by_user_id="usr_a")
    rules.check_decider(rules.Decider("usr_b", "admin"), requested_by_user_id="usr_a")
    rules.check_decider(rules.Decider("usr_b", "admin"), requested_by_user_id=None)


def test_ap1_a_reject_needs_a_comment():
    with pytest.raises(errors.ValidationError) as info:
        rules.parse_comment("   ", required=True)
    assert info.value.errors[0].field == "comment"
    assert rules.parse_comment(None, required=False) is None
    assert rules.parse_comment(" fine ", required=True) == "fine"


def test_ap1_a_staff_user_asks_and_an_admin_decides(db):
    key, ann, _bob, cid = setup(db)
    sam = person(db, key, "sam@acme.test", "staff")
    m = factories.memo(db, sam, cid, "1000.00", issue=False)
    req = approvals.request_approval(db, actor=sam, memo_id=m, comment="please")
    with pytest.raises(errors.Forbidden):
        approvals.approve(db, actor=sam, request_id=req.id)
    approvals.approve(db, actor=ann, request_id=req.id)
    assert memo_lifecycle.issue_memo(db, actor=sam, memo_id=m).status == "issued"


def test_ap1_deleting_a_draft_takes_its_requests_with_it(db):
    _key, ann, bob, cid = setup(db)
    m = factories.memo(db, ann, cid, "1000.00", issue=False)
    req = approvals.request_approval(db, actor=ann, memo_id=m)
    memos.delete_memo(db, actor=ann, memo_id=m)
    with pytest.raises(errors.NotFound):
        approvals.approve(db, actor=bob, request_id=req.id)


# --- races ------------------------------------------------------------------------------


def _approve_vs_edit(db: Database, rounds: int) -> None:
    _key, ann, bob, cid = setup(db)
    for i in range(rounds):
        m = factories.memo(db, ann, cid, "1000.00", issue=False)
        req = approvals.request_approval(db, actor=ann, memo_id=m)
        outcomes = race([
            ("approve", lambda r=req.id: approvals.approve(db, actor=bob, request_id=r)),
            ("edit", lambda i=i, m=m: memos.update_memo(db, actor=ann, memo_id=m, changes={
                "amount": f"{5000 + i}.00"})),
        ])
        ok, _refused = settle(outcomes, {"approve": (errors.InvalidState,)})
        assert count(ok, "edit") == 1
        with db.read() as s:
            status = s.scalar(select(models.ApprovalRequest.status).where(
                models.ApprovalRequest.id == req.id))
        # approved first then withdrawn by the edit, or found withdrawn: never approved
        assert status == "withdrawn", (i, status, count(ok, "approve"))
        with pytest.raises(errors.ApprovalRequired):
            memo_lifecycle.issue_memo(db, actor=ann, memo_id=m)


def _two_approvals(db: Database, rounds: int) -> None:
    key, ann, bob, cid = setup(db)
    carl = person(db, key, f"carl-{key.partner_id[-8:]}@acme.test")
    for _ in range(rounds):
        m = factories.memo(db, ann, cid, "1000.00", issue=False)
        req = approvals.request_approval(db, actor=ann, memo_id=m)
        outcomes = race([
            ("approve", lambda r=req.id: approvals.approve(db, actor=bob, request_id=r)),
            ("approve", lambda r=req.id: approvals.approve(db, actor=carl, request_id=r)),
        ])
        ok, refused = settle(outcomes, {"approve": (errors.InvalidState,)})
        assert count(ok, "approve") == 1 and count(refused, "approve") == 1
        with db.read() as s:
            trail = s.scalars(select(models.AuditEvent.action).where(
                models.AuditEvent.entity_id == m,
                models.AuditEvent.action == "approval_request.approve")).all()
        assert len(trail) == 1
        assert memo_lifecycle.issue_memo(db, actor=ann, memo_id=m).status == "issued"


@pytest.mark.slow
def test_ap1_approve_and_edit_racing_never_leave_an_approval_on_edited_content_pg(pg_db):
    _approve_vs_edit(pg_db, rounds=15)


@SQLITE
def test_ap1_approve_and_edit_racing_sqlite(db):
    _approve_vs_edit(db, rounds=3)


@pytest.mark.slow
def test_ap1_two_approvals_approve_once_pg(pg_db):
    _two_approvals(pg_db, rounds=15)


@SQLITE
def test_ap1_two_approvals_approve_once_sqlite(db):
    _two_approvals(db, rounds=3)


def test_ap1_the_demo_has_an_approval_waiting(db):
    from creditdesk.demo import partner as demo
    info = demo.load(db)
    admin = partners.authenticate_user(db, email=demo.ADMIN_EMAIL, password=demo.ADMIN_PASSWORD)
    assert admin.partner_id == info.partner_id
    [waiting] = approvals.waiting(db, actor=admin)
    assert waiting.requested_by == f"user:{demo.CONTROLLER_EMAIL}"
    approvals.approve(db, actor=admin, request_id=waiting.id)  # another admin: allowed
    issued = memo_lifecycle.issue_memo(db, actor=admin, memo_id=waiting.credit_memo_id)
    assert issued.status == "issued"
