"""Dashboard > Webhooks in a real browser (D4), JavaScript on and off, at desktop width and
at 375 px: an admin adds an endpoint (the secret shown once), a refusal names the field, a
memo's events are delivered to a local receiver and listed with their attempts, Replay
sends one again, the secret is rotated and the endpoint deleted. Screenshots in
tests/browser/screenshots/webhooks-*.png."""

from __future__ import annotations

import time

import pytest

from creditdesk.domain import webhooks as rules
from creditdesk.jobs import events as event_jobs
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, expect, screenshot, sign_in
from tests.browser.test_portal_apply_credit import fits
from tests.events.receiver import Receiver, running

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "375"])
def test_d4_endpoints_secret_once_events_replay_rotate_delete(
        new_page, site, tenant, javascript, viewport, monkeypatch) -> None:
    monkeypatch.setenv("CREDITDESK_ALLOW_PRIVATE_URLS", "1")
    db, actor = site.db, tenant.actor
    name = f"webhooks-{'js' if javascript else 'nojs'}-{viewport['width']}"
    receiver = Receiver(answer=lambda event_id, n: 500 if n == 1 else 200)
    page = new_page(viewport, javascript=javascript)
    sign_in(page, tenant)
    with running(receiver) as url:
        page.locator("#nav-webhooks").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
        expect(page.locator("#no-endpoints")).to_be_visible()

        # a refusal names the field
        monkeypatch.setenv("CREDITDESK_ALLOW_PRIVATE_URLS", "0")
        page.get_by_label("URL (https)").fill("https://10.0.0.8/hooks")
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.locator("#err-add-url")).to_contain_text("not a public address")
        monkeypatch.setenv("CREDITDESK_ALLOW_PRIVATE_URLS", "1")

        # added: the secret is shown once
        page.get_by_label("URL (https)").fill(url)
        page.locator("#event-credit_memo-created").check()
        page.locator("#event-credit_memo-issued").check()
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.locator("#secret-once")).to_contain_text("shown only once")
        secret = page.locator("#endpoint-secret").input_value()
        assert secret.startswith("whsec_")
        expect(page.locator("#endpoints-table")).to_contain_text(
            "credit_memo.created, credit_memo.issued")
        fits(page, viewport)
        screenshot(page, f"{name}-1-secret")
        page.goto("/dashboard/webhooks")
        expect(page.locator("#secret-once")).to_have_count(0)  # never again

        # a memo created and issued: two events, the first attempt of each fails
        factories.memo(db, actor, factories.customer(db, actor), "12.00")
        assert event_jobs.deliver_due(db, retry_base_seconds=1) == 2
        time.sleep(1.1)
        assert event_jobs.deliver_due(db, retry_base_seconds=1) == 2
        assert len(receiver.got) == 4
        for got in receiver.got:
            assert rules.verify(got.headers["creditdesk-signature"], got.body, secret,
                                now=int(time.time()))
        page.goto("/dashboard/webhooks")
        rows = page.locator("#events-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("credit_memo.issued")
        expect(rows.first).to_contain_text("succeeded")
        rows.first.locator("summary").click()
        expect(rows.first).to_contain_text("HTTP 500")
        expect(rows.first).to_contain_text("HTTP 200")
        fits(page, viewport)
        screenshot(page, f"{name}-2-events")

        # replay
        rows.first.get_by_role("button", name="Replay").click()
        expect(page.locator("main .notice")).to_contain_text("will be sent again")
        expect(page.locator("#events-table tbody tr").first).to_contain_text("pending")
        assert event_jobs.deliver_due(db, retry_base_seconds=1) == 1
        assert receiver.got[-1].body == receiver.got[1].body or \
            receiver.got[-1].event["type"] == "credit_memo.issued"

        # rotate: a new secret, shown once; then delete
        page.locator("#endpoints-table").get_by_role("button", name="Rotate secret").click()
        expect(page.locator("#secret-once")).to_contain_text("old one keeps signing")
        assert page.locator("#endpoint-secret").input_value() not in ("", secret)
        expect(page.locator("#endpoints-table")).to_contain_text("Old secret signs until")
        screenshot(page, f"{name}-3-rotated")
        page.locator("#endpoints-table").get_by_role("button", name="Delete").click()
        expect(page.locator("main .notice")).to_contain_text("Endpoint deleted")
        expect(page.locator("#no-endpoints")).to_be_visible()
        fits(page, viewport)
