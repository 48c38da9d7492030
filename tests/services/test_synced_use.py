"""Y4: how a synced memo's credit was used at the source, as the system records it —
applied to invoices, or refunded — and a refund is never shown as an application: in the
stored amounts, the memo view, the memo page and the portal's credit memos."""

from __future__ import annotations

from creditdesk.db.engine import Database
from creditdesk.services.access.portal_links import PortalCustomer
from creditdesk.services.common.context import Actor
from creditdesk.services.read_models import portal, views
from tests.sync_helpers import synced_memos
from tests.xero_fixtures import TENANT, FakeXero


def test_y4_xero_refunds_are_kept_apart_from_allocations(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    st = fake_xero.state
    both = st.add_credit_note(TENANT, total="200.00")
    st.allocate(TENANT, both, "150.00")
    st.refund(TENANT, both, "30.00")
    refunded = st.add_credit_note(TENANT, total="40.00")
    st.refund(TENANT, refunded, "40.00")  # PAID by a refund only
    iid = fake_xero.connect(db, actor)
    fake_xero.sync(db, iid)
    got = synced_memos(db, "xero")
    assert (got[both].applied_minor, got[both].refunded_minor, got[both].status) == (
        18000, 3000, "partially_applied")
    view = views.memo_view(got[both], with_lines=False)
    assert (view.applied_to_invoices.minor, view.refunded_amount.minor,
            view.remaining_amount.minor) == (15000, 3000, 2000)
    only = views.memo_view(got[refunded], with_lines=False)
    assert (only.applied_to_invoices.minor, only.refunded_amount.minor) == (0, 4000)
    # a later void at the source clears both (Y4: no credit left, nothing used here)
    st.void(TENANT, both)
    fake_xero.sync(db, iid)
    again = synced_memos(db, "xero")[both]
    assert (again.status, again.applied_minor, again.refunded_minor) == ("void", 0, 0)


def test_y4_portal_memos_say_applied_in_the_system_and_refunded_apart(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    from creditdesk.services.customer_accounts import visibility

    st = fake_xero.state
    note = st.add_credit_note(TENANT, total="200.00")
    st.allocate(TENANT, note, "150.00")
    st.refund(TENANT, note, "30.00")
    fake_xero.sync(db, fake_xero.connect(db, actor))
    memo = synced_memos(db, "xero")[note]
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    who = PortalCustomer(actor.partner_id, memo.customer_id, "Harbor Supply Co")
    (row,) = portal.list_credit_memos(db, who=who).data
    assert (row.applied_amount.minor, row.refunded_amount.minor, row.source) == (
        15000, 3000, "xero")
