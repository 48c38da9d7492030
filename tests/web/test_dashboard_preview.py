"""P6/P7 on the pages through HTTP: a confirmation changes nothing, its Confirm form posts
the real action with what was typed, and htmx gets only the confirmation block. (The
behaviours in a browser, JavaScript on and off, are tests/browser/test_preview.py.)"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.services.credit_memos import memos
from tests import factories

HTMX = {"HX-Request": "true", "HX-Target": "confirmation"}


def _audits(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(models.AuditEvent))


def test_p6_confirmation_page_changes_nothing_and_posts_the_action(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    inv = factories.invoice(db, actor, cid, "3390.00")
    memo_id = factories.memo(db, actor, cid, "1000.00")
    admin.get(f"/dashboard/credit-memos/{memo_id}")
    before = _audits(db)
    r = admin.post(f"/dashboard/credit-memos/{memo_id}/apply/preview",
                   {"invoice_id": inv, "amount": "250.00", "invoice_q": ""})
    assert r.status_code == 200
    assert "<html" in r.text and 'id="confirm-card"' in r.text  # a page of its own
    assert "$3,390.00 → $3,140.00" in r.text and "$1,000.00 → $750.00" in r.text
    form = re.search(r'<form method="post" action="([^"]+)" id="confirm-form"', r.text)
    assert form and form.group(1) == f"/dashboard/credit-memos/{memo_id}/apply"
    assert 'name="amount" value="250.00"' in r.text
    assert _audits(db) == before
    assert memos.get_memo(db, actor=actor, memo_id=memo_id).status == "issued"


def test_p6_htmx_gets_only_the_confirmation_block(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    memo_id = factories.memo(db, actor, cid, "40.00", issue=False)
    admin.get(f"/dashboard/credit-memos/{memo_id}")
    r = admin.post(f"/dashboard/credit-memos/{memo_id}/issue/preview", headers=HTMX)
    assert r.status_code == 200
    assert "<html" not in r.text and r.text.lstrip().startswith('<section class="card confirm"')
    assert memos.get_memo(db, actor=actor, memo_id=memo_id).status == "draft"


def test_p6_htmx_refusal_replaces_the_page_with_the_message_by_its_form(admin, db,
                                                                       actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    memo_id = factories.memo(db, actor, cid, "40.00")  # issued already
    admin.get(f"/dashboard/credit-memos/{memo_id}")
    r = admin.post(f"/dashboard/credit-memos/{memo_id}/issue/preview", headers=HTMX)
    assert r.status_code == 409
    assert r.headers["HX-Retarget"] == "body" and 'id="error-issue"' in r.text


def test_p7_visibility_confirmation_saves_nothing(admin, db, actor) -> None:
    factories.customer(db, actor, "Globex")
    admin.get("/dashboard/preferences/credit-balance-visibility")
    before = _audits(db)
    r = admin.post("/dashboard/preferences/credit-balance-visibility/preview",
                   {"show_to_all_customers": "on"})
    assert r.status_code == 200
    assert "1 customer will start seeing their credit" in r.text and "Globex" in r.text
    assert _audits(db) == before
