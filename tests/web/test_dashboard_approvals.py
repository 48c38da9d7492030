"""AP1 on the dashboard without JavaScript: thresholds under Team Preferences, the Approval
panel of a draft (request, approve, reject with comments), the Approvals waiting page."""

from __future__ import annotations

import html
import re

from creditdesk.services.access import users
from creditdesk.services.credit_memos import approvals
from tests import factories

BOB = "bob@acme.test"
BOB_PASSWORD = "bob's password"


def _words(page: str) -> str:
    """A page's text, as a person reads it."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _bob(db, actor, new_browser):
    users.create_user(db, actor=actor, email=BOB, password=BOB_PASSWORD, role="admin")
    b = new_browser()
    assert b.sign_in(BOB, BOB_PASSWORD).status_code == 303
    return b


def test_ap1_thresholds_under_team_preferences(admin, staff, db, actor) -> None:
    page = admin.get("/dashboard/preferences/approvals")
    assert page.status_code == 200 and 'id="no-thresholds"' in page.text
    r = admin.post("/dashboard/preferences/approvals", {"currency": "usd", "amount": "1000.001"})
    assert r.status_code == 422 and 'id="err-threshold-amount"' in r.text
    r = admin.post("/dashboard/preferences/approvals", {"currency": "USD", "amount": "1000"},
                   follow_redirects=False)
    assert r.status_code == 303
    page = admin.get("/dashboard/preferences/approvals")
    assert 'id="threshold-USD"' in page.text and "$1,000.00" in page.text
    assert [(t.currency, t.amount.to_str()) for t in approvals.get_settings(
        db, actor=actor).thresholds] == [("USD", "1000.00")]
    assert staff.get("/dashboard/preferences/approvals").status_code == 403
    admin.post("/dashboard/preferences/approvals/USD/remove", follow_redirects=False)
    assert approvals.get_settings(db, actor=actor).thresholds == []


def test_ap1_four_eyes_on_the_memo_page(admin, db, actor, new_browser) -> None:
    bob = _bob(db, actor, new_browser)
    approvals.replace_settings(db, actor=actor, thresholds=[{"currency": "USD",
                                                             "amount": "500.00"}])
    cid = factories.customer(db, actor)
    draft = factories.memo(db, actor, cid, "750.00", issue=False)
    url = f"/dashboard/credit-memos/{draft}"

    page = admin.get(url)
    assert 'id="approval-needed"' in page.text and 'id="request-approval"' in page.text
    for path in ("issue", "issue/preview"):  # P6: the confirmation answers the real refusal
        refused = admin.post(f"{url}/{path}", follow_redirects=False)
        assert refused.status_code == 409 and 'id="error-issue"' in refused.text, path
        assert "another administrator must approve it" in _words(refused.text)

    r = admin.post(f"{url}/approval-requests", {"comment": "Big one"}, follow_redirects=False)
    assert r.status_code == 303
    mine = admin.get(url).text
    assert "Waiting for approval by another admin" in mine and "“Big one”" in mine
    assert 'id="approve-request"' not in mine and 'id="approval-own"' in mine
    waiting = admin.get("/dashboard/approvals").text
    assert 'id="approvals-waiting"' in waiting and "CM-0001" in waiting

    theirs = bob.get(url).text
    assert 'id="approve-request"' in theirs and 'id="reject-request"' in theirs
    [req] = approvals.waiting(db, actor=actor)
    decide = f"{url}/approval-requests/{req.id}/decide"
    r = bob.post(decide, {"decision": "reject", "comment": ""})
    assert r.status_code == 422 and 'id="err-decide-comment"' in r.text
    # self-approval is refused even when posted by hand
    r = admin.post(decide, {"decision": "approve", "comment": ""})
    assert r.status_code == 403 and 'id="error-decide"' in r.text
    assert bob.post(decide, {"decision": "reject", "comment": "Split it"},
                    follow_redirects=False).status_code == 303
    page = _words(admin.get(url).text)
    assert f"Rejected by {BOB}: “Split it”" in page

    admin.post(f"{url}/approval-requests", {"comment": ""})
    [again] = approvals.waiting(db, actor=actor)
    assert bob.post(f"{url}/approval-requests/{again.id}/decide",
                    {"decision": "approve", "comment": "OK now"},
                    follow_redirects=False).status_code == 303
    page = _words(admin.get(url).text)
    assert f"Approved by {BOB}" in page and "“OK now”" in page
    assert admin.get("/dashboard/approvals").text.count('id="waiting-') == 0
    assert admin.post(f"{url}/issue", follow_redirects=False).status_code == 303
    assert 'id="approval"' not in admin.get(url).text  # issued: no panel


def test_ap1_editing_an_approved_draft_on_the_dashboard_withdraws_it(admin, db, actor,
                                                                     new_browser) -> None:
    bob = _bob(db, actor, new_browser)
    approvals.replace_settings(db, actor=actor, thresholds=[{"currency": "USD",
                                                             "amount": "100.00"}])
    draft = factories.memo(db, actor, factories.customer(db, actor), "150.00", issue=False)
    url = f"/dashboard/credit-memos/{draft}"
    admin.post(f"{url}/approval-requests", {"comment": ""})
    [req] = approvals.waiting(db, actor=actor)
    bob.post(f"{url}/approval-requests/{req.id}/decide", {"decision": "approve"})
    form = admin.get(f"{url}/edit")
    assert form.status_code == 200
    r = admin.post(f"{url}/edit", {"customer_id": "", "reason": "goodwill", "amount": "160.00",
                                   "currency": "USD", "notes": ""}, follow_redirects=False)
    assert r.status_code == 303, r.text[-1500:]
    page = admin.get(url).text
    assert "request was withdrawn" in page and 'id="request-approval"' in page
