"""Y11-Y13 on the dashboard: synced credit is applied from the memo page and from the
invoice page (the confirmation first, P6), shows as sent and waiting, then as applied or
refused in the system's words, with Retry and Cancel; Remove asks the system."""

from __future__ import annotations

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from tests.services.test_write_back import Books, allocations, applications, drain
from tests.web.conftest import Browser
from tests.xero_fixtures import TENANT, FakeXero


def test_y11_apply_from_the_memo_page_confirms_sends_and_shows_the_outcome(
        db: Database, actor: Actor, admin: Browser, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    page = admin.get(f"/dashboard/credit-memos/{b.memo_id}")
    assert 'id="write-back-hint"' in page.text and 'id="apply-candidates"' in page.text
    asked = admin.post(f"/dashboard/credit-memos/{b.memo_id}/apply/preview",
                       {"invoice_id": b.invoices[0], "amount": "30.00"})
    assert "Send $30.00 of" in asked.text and "in Xero?" in asked.text
    assert applications(db, b.memo_id) == []  # the confirmation changes nothing
    done = admin.post(f"/dashboard/credit-memos/{b.memo_id}/apply",
                      {"invoice_id": b.invoices[0], "amount": "30.00"})
    assert "Sent to Xero: $30.00" in done.text
    assert "Sent — waiting for Xero" in done.text
    drain(db, fake_xero)
    shown = admin.get(f"/dashboard/credit-memos/{b.memo_id}").text
    assert "Applied (" in shown and 'id="memo-applied">$30.00' in shown
    removed = admin.post(f"/dashboard/credit-memos/{b.memo_id}/applications/{b.invoices[0]}"
                         "/remove")
    assert "Asked Xero to remove the credit" in removed.text
    assert "Being removed — waiting for Xero" in removed.text
    drain(db, fake_xero)
    assert allocations(fake_xero, b.note) == []


def test_y12_a_refusal_shows_xeros_words_with_retry_and_cancel_on_both_pages(
        db: Database, actor: Actor, admin: Browser, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    fake_xero.state.update_note(TENANT, b.note, RemainingCredit="5.00")  # used in Xero
    admin.get(f"/dashboard/invoices/{b.invoices[0]}")
    done = admin.post(f"/dashboard/invoices/{b.invoices[0]}/apply",
                      {"memo_id": b.memo_id, "amount": "20.00"})
    assert "Sent to Xero: $20.00" in done.text
    drain(db, fake_xero)
    [app] = applications(db, b.memo_id)
    assert app.status == "failed" and app.write_back_error
    invoice_page = admin.get(f"/dashboard/invoices/{b.invoices[0]}").text
    memo_page = admin.get(f"/dashboard/credit-memos/{b.memo_id}").text
    for text in (invoice_page, memo_page):
        assert "Refused:" in text and app.write_back_error.split(".")[0] in text
        assert f"/applications/{app.id}/retry" in text and "Cancel" in text
    cancelled = admin.post(f"/dashboard/invoices/{b.invoices[0]}/credits/{b.memo_id}/remove")
    assert cancelled.status_code == 200
    assert applications(db, b.memo_id) == []


def test_y11_the_invoice_page_offers_its_systems_credit_only(
        db: Database, actor: Actor, admin: Browser, fake_xero: FakeXero) -> None:
    from tests import factories as f
    b = Books(db, actor, fake_xero)
    with db.read() as s:
        from creditdesk.db import models
        customer_id = s.get_one(models.CreditMemo, b.memo_id).customer_id
        number = s.get_one(models.CreditMemo, b.memo_id).number
    native = f.memo(db, actor, customer_id, "15.00")
    page = admin.get(f"/dashboard/invoices/{b.invoices[0]}").text
    assert f'id="offer-{number}"' in page
    assert native not in page  # native credit is never offered to a synced invoice
