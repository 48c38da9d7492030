"""Partner Dashboard: the customer page's suggestion panel and the Suggestions page
(P1, G1-G3, P4): refresh, accept into a draft memo only, dismiss for good."""

from __future__ import annotations

from creditdesk.services.credit_memos import memos
from creditdesk.services.invoicing import invoices
from creditdesk.services.suggesting import refresh_runs, suggestions
from tests import factories
from tests.services.test_suggestions import duplicated_plan


def _refresh_customer(browser, cid: str):
    return browser.post("/dashboard/suggestions/refresh",
                        {"customer_id": cid, "back": "customer"}, follow_redirects=False)


def test_customer_panel_refresh_then_accept_creates_a_draft_only(admin, db, actor) -> None:
    cid, dup = duplicated_plan(db, actor)
    page = admin.get(f"/dashboard/customers/{cid}").text
    assert 'id="suggestions"' in page and 'id="no-suggestions"' in page
    r = _refresh_customer(admin, cid)
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/customers/{cid}"
    page = admin.get(r.headers["location"]).text
    assert "Suggestions refreshed for this customer: 1 open, 1 new." in page
    [s] = suggestions.list_suggestions(db, actor=actor, customer_id=cid).data
    number = invoices.get_invoice(db, actor=actor, invoice_id=dup).number
    assert "Duplicate charge: $300.00" in page
    assert f'<a href="/dashboard/invoices/{dup}">{number}</a>' in page
    assert f'id="confidence-{s.id}">{round(s.confidence * 100)}%' in page
    assert s.explanation in page and f'id="accept-{s.id}"' in page
    r = admin.post(f"/dashboard/suggestions/{s.id}/accept", {"back": "customer"},
                   follow_redirects=False)
    assert r.status_code == 303
    memo_id = r.headers["location"].rsplit("/", 1)[-1]
    assert r.headers["location"] == f"/dashboard/credit-memos/{memo_id}"
    memo = memos.get_memo(db, actor=actor, memo_id=memo_id)
    # G3: a draft linked to the duplicate, nothing issued or applied
    assert (memo.status, memo.invoice_id, memo.total.to_str(), memo.reason) == (
        "draft", dup, "300.00", "duplicate_charge")
    assert memo.remaining_amount.to_str() == "300.00"
    assert invoices.get_invoice(db, actor=actor, invoice_id=dup).credit_applied.to_str() == "0.00"
    shown = admin.get(r.headers["location"]).text
    assert f"Draft credit memo {memo.number} created from the suggestion" in shown
    # Accepting again is refused next to the panel, and creates nothing
    again = admin.post(f"/dashboard/suggestions/{s.id}/accept", {"back": "customer"})
    assert again.status_code == 409 and 'id="error-suggestions"' in again.text
    assert "already accepted" in again.text and 'id="customer-name"' in again.text
    assert len(memos.list_memos(db, actor=actor).data) == 1


def test_suggestions_page_filters_dismiss_and_refresh_keeps_it_dismissed(admin, db,
                                                                          actor) -> None:
    cid, _ = duplicated_plan(db, actor)
    other, _ = duplicated_plan(db, actor)
    r = admin.post("/dashboard/suggestions/refresh", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/suggestions"
    page = admin.get("/dashboard/suggestions").text  # a run on the job system: progress
    assert "Refreshing suggestions for every customer: the progress shows below" in page
    assert "waiting for a worker to start it" in page and 'hx-get="/dashboard/suggestions/' \
        'refresh-status"' in page and "Open suggestions (0)" in page
    again = admin.post("/dashboard/suggestions/refresh").text  # meets the same run
    assert "is already under way" in again
    assert refresh_runs.run_pending(db) != []  # the worker
    status = admin.get("/dashboard/suggestions/refresh-status", headers={"HX-Request": "true"})
    assert status.headers.get("hx-refresh") == "true"  # over: the page reloads, new list
    assert "hx-get" not in status.text  # and polls no more
    page = admin.get("/dashboard/suggestions").text
    assert "Last refreshed for every customer" in page
    assert "2 customers, 2 open, 2 new, 0 no longer supported by the evidence." in page
    assert "Open suggestions (2)" in page and 'aria-current="page">Suggestions' in page
    assert "Open suggestions (1)" in admin.get(f"/dashboard/suggestions?customer_id={cid}").text
    refresh_runs.start(db, actor=actor)  # queued: without JavaScript, the Refresh link
    queued = admin.get(f"/dashboard/suggestions?customer_id={cid}&reason=duplicate_charge").text
    assert (f'<a href="/dashboard/suggestions?customer_id={cid}&amp;reason=duplicate_charge">'
            'Refresh</a>') in queued  # keeps the filters
    refresh_runs.run_pending(db)
    assert 'id="no-suggestions"' in admin.get(
        "/dashboard/suggestions?reason=pricing_error").text
    assert admin.get("/dashboard/suggestions?reason=nonsense").status_code == 200
    [s] = suggestions.list_suggestions(db, actor=actor, customer_id=cid).data
    r = admin.post(f"/dashboard/suggestions/{s.id}/dismiss",
                   {"customer_id": cid, "reason": "duplicate_charge"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == (
        f"/dashboard/suggestions?customer_id={cid}&reason=duplicate_charge")
    page = admin.get(r.headers["location"]).text
    assert "will not come back for the same evidence" in page and s.id not in page
    admin.post("/dashboard/suggestions/refresh")  # G3: same evidence, still dismissed
    refresh_runs.run_pending(db)
    page = admin.get("/dashboard/suggestions").text
    assert "Open suggestions (1)" in page and s.id not in page
    assert suggestions.get_suggestion(db, actor=actor, suggestion_id=s.id).status == "dismissed"
    r = admin.post(f"/dashboard/suggestions/{s.id}/dismiss", {})
    assert r.status_code == 409 and "already dismissed" in r.text
    assert memos.list_memos(db, actor=actor).data == []
    assert other  # the other customer's suggestion is still open
    assert len(suggestions.list_suggestions(db, actor=actor, status="open").data) == 1


def test_other_partners_suggestion_is_404_and_not_listed(admin, rival, db, actor) -> None:
    browser, _ = rival
    cid, _ = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = suggestions.list_suggestions(db, actor=actor).data
    assert browser.post(f"/dashboard/suggestions/{s.id}/accept").status_code == 404
    assert browser.post(f"/dashboard/suggestions/{s.id}/dismiss",
                        {"back": "customer"}).status_code == 404
    assert _refresh_customer(browser, cid).status_code == 404
    assert s.id not in browser.get("/dashboard/suggestions").text
    assert s.id not in browser.get(f"/dashboard/suggestions?customer_id={cid}").text
    assert admin.post("/dashboard/suggestions/sug_nope/accept").status_code == 404
    assert suggestions.get_suggestion(db, actor=actor, suggestion_id=s.id).status == "open"
    assert memos.list_memos(db, actor=actor).data == []


def test_suggestion_forms_need_the_csrf_token(admin, db, actor) -> None:
    cid, _ = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = suggestions.list_suggestions(db, actor=actor).data
    assert admin.post(f"/dashboard/suggestions/{s.id}/accept", csrf=False).status_code == 403
    assert admin.post("/dashboard/suggestions/refresh", csrf=False).status_code == 403
    assert suggestions.get_suggestion(db, actor=actor, suggestion_id=s.id).status == "open"


def test_accept_refused_by_the_memo_rules_is_shown_next_to_its_form(admin, db,
                                                                     actor) -> None:
    cid, dup = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = suggestions.list_suggestions(db, actor=actor).data
    # A goodwill memo takes most of the invoice after the refresh (C5 now refuses 300.00)
    factories.memo(db, actor, cid, "250.00", invoice_id=dup)
    r = admin.post(f"/dashboard/suggestions/{s.id}/accept", {})
    assert r.status_code == 422 and f'id="error-s-{s.id}"' in r.text
    assert f'id="suggestion-{s.id}"' in r.text
    assert suggestions.get_suggestion(db, actor=actor, suggestion_id=s.id).status == "open"
