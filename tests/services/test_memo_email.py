"""D2: a memo is emailed with its PDF attached through the partner's SMTP server (a real
local one, aiosmtpd); each delivery is recorded (queued, sent, failed with the server's
answer and the next attempt, gave_up after 24 hours), retried with back-off, never sent
twice."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from creditdesk.db import models
from creditdesk.domain import documents as rules
from creditdesk.domain import errors
from creditdesk.services.common import vault
from creditdesk.services.common.context import clock
from creditdesk.services.credit_memos import memo_lifecycle
from creditdesk.services.customer_accounts import customers
from creditdesk.services.documents import deliveries, delivery_job, email_settings
from tests import factories


def _smtp(db, actor, inbox, **overrides):
    values = {"host": inbox.host, "port": inbox.port, "security": "none", "username": None,
              "from_address": "billing@acme.test"} | overrides
    return email_settings.replace_settings(db, actor=actor, **values)


@pytest.fixture
def memo_id(db, actor):
    cid = customers.create_customer(db, actor=actor, name="Globex",
                                    email="ap@globex.test").id
    return factories.memo(db, actor, cid, "45.00", customer_note="See you soon.",
                          notes="internal only")


def _row(db, delivery_id):
    with db.read() as session:
        row = session.get_one(models.MemoDelivery, delivery_id)
        session.expunge(row)
        return row


def test_d2_sent_to_the_billing_email_with_the_pdf_attached(db, actor, memo_id, smtp_server):
    _smtp(db, actor, smtp_server)
    queued = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    assert (queued.status, queued.to) == ("queued", ["ap@globex.test"])
    assert smtp_server.messages == []  # nothing leaves inside the request

    assert delivery_job.run_due(db, base_seconds=1) == [queued.id]

    assert _row(db, queued.id).last_error is None
    [msg] = smtp_server.messages
    assert msg["To"] == "ap@globex.test" and msg["Message-ID"] == queued.message_id
    assert "billing@acme.test" in msg["From"] and "CM-0001" in msg["Subject"]
    [pdf] = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "CM-0001.pdf"
    text = PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text()
    assert "CM-0001" in text and "See you soon." in text and "internal" not in text
    sent = deliveries.list_deliveries(db, actor=actor, memo_id=memo_id)
    assert [(d.status, d.attempts) for d in sent] == [("sent", 1)]
    assert sent[0].sent_at is not None
    assert delivery_job.run_due(db, base_seconds=1) == []  # never twice
    assert len(smtp_server.messages) == 1


def test_d2_given_addresses_replace_the_billing_email(db, actor, memo_id, smtp_server):
    _smtp(db, actor, smtp_server)
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id,
                                to=["a@x.test", "B@x.test", "a@X.test"])
    assert d.to == ["a@x.test", "B@x.test"]
    delivery_job.run_due(db, base_seconds=1)
    assert smtp_server.envelopes == [("billing@acme.test", ["a@x.test", "B@x.test"])]


def test_d2_a_refusal_is_recorded_with_the_answer_and_retried_with_back_off(
        db, actor, memo_id, smtp_server):
    _smtp(db, actor, smtp_server)
    smtp_server.refuse_next = 2
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    delivery_job.run_due(db, base_seconds=60)
    first = _row(db, d.id)
    assert first.status == "failed" and "451" in first.last_error
    assert "Mailbox temporarily unavailable" in first.last_error
    assert first.next_attempt_at - clock.now() > timedelta(seconds=50)  # 60 s back-off
    assert delivery_job.run_due(db, base_seconds=60) == []  # not due yet
    later = first.next_attempt_at + timedelta(seconds=1)
    delivery_job.run_due(db, base_seconds=60, now=later)
    second = _row(db, d.id)
    assert second.status == "failed" and second.attempts == 2
    assert second.next_attempt_at - first.next_attempt_at > timedelta(seconds=100)  # doubled
    delivery_job.run_due(db, base_seconds=60, now=second.next_attempt_at)
    assert _row(db, d.id).status == "sent" and len(smtp_server.messages) == 1


def test_d2_gives_up_after_24_hours(db, actor, memo_id, smtp_server):
    _smtp(db, actor, smtp_server)
    smtp_server.refuse_next = 1
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    delivery_job.run_due(db, base_seconds=1)
    assert _row(db, d.id).status == "failed"
    delivery_job.run_due(db, base_seconds=1, now=clock.now() + timedelta(hours=24, seconds=1))
    row = _row(db, d.id)
    assert row.status == "gave_up" and "24 hours" in row.last_error and "451" in row.last_error
    assert smtp_server.messages == []


def test_d2_an_unreachable_server_is_a_failure_with_its_words(db, actor, memo_id,
                                                              smtp_server):
    _smtp(db, actor, smtp_server, port=1)  # nothing listens there
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    delivery_job.run_due(db, base_seconds=1)
    row = _row(db, d.id)
    assert row.status == "failed" and "127.0.0.1:1" in row.last_error
    assert row.next_attempt_at is not None


def test_d2_an_attempt_cut_off_mid_send_is_given_up_never_sent_twice(db, actor, memo_id,
                                                                    smtp_server):
    """The worker marked the delivery ``sending`` (committed) and died: whether the server
    got it is unknown, so after the lease it is given up, not sent again."""
    _smtp(db, actor, smtp_server)
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    claimed = delivery_job.claim(db, d.id)
    assert claimed is not None and _row(db, d.id).status == "sending"
    assert delivery_job.claim(db, d.id) is None  # a second worker can't take it
    assert delivery_job.run_due(db, base_seconds=1) == []  # within the lease: left alone
    after = clock.now() + rules.SENDING_LEASE + timedelta(seconds=1)
    assert delivery_job.run_due(db, base_seconds=1, now=after) == [d.id]
    row = _row(db, d.id)
    assert row.status == "gave_up" and d.message_id in row.last_error
    assert smtp_server.messages == []
    assert delivery_job.run_due(db, base_seconds=1, now=after + timedelta(hours=1)) == []


def test_d2_broken_off_after_handing_over_is_given_up(db, actor, memo_id, smtp_server,
                                                      monkeypatch):
    _smtp(db, actor, smtp_server)
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)

    def cut(self, msg):
        raise delivery_job.smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    monkeypatch.setattr(delivery_job.smtplib.SMTP, "data", cut)
    delivery_job.run_due(db, base_seconds=1)
    row = _row(db, d.id)
    assert row.status == "gave_up" and "may have arrived" in row.last_error
    assert delivery_job.run_due(db, base_seconds=1,
                                now=clock.now() + timedelta(hours=1)) == []


def test_d2_only_issued_memos_are_sent(db, actor, smtp_server):
    _smtp(db, actor, smtp_server)
    cid = customers.create_customer(db, actor=actor, name="G", email="g@g.test").id
    draft = factories.memo(db, actor, cid, issue=False)
    void = factories.memo(db, actor, cid)
    memo_lifecycle.void_memo(db, actor=actor, memo_id=void, reason="mistake")
    for mid, word in ((draft, "draft"), (void, "void")):
        with pytest.raises(errors.InvalidState, match=word):
            deliveries.request_send(db, actor=actor, memo_id=mid)


def test_d2_a_memo_voided_after_the_request_is_not_sent(db, actor, memo_id, smtp_server):
    _smtp(db, actor, smtp_server)
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    memo_lifecycle.void_memo(db, actor=actor, memo_id=memo_id, reason="mistake")
    delivery_job.run_due(db, base_seconds=1)
    assert _row(db, d.id).status == "gave_up" and smtp_server.messages == []


def test_d2_refusals_before_anything_is_queued(db, actor, smtp_server):
    nomail = factories.customer(db, actor, "No Mail")
    mid = factories.memo(db, actor, nomail)
    with pytest.raises(errors.NotConfigured):
        deliveries.request_send(db, actor=actor, memo_id=mid, to=["x@y.test"])
    _smtp(db, actor, smtp_server)
    with pytest.raises(errors.ValidationError, match="no billing email") as exc:
        deliveries.request_send(db, actor=actor, memo_id=mid)
    assert exc.value.errors[0].field == "to"
    with pytest.raises(errors.ValidationError, match="not an email address"):
        deliveries.request_send(db, actor=actor, memo_id=mid, to=["not-an-address"])
    with db.read() as session:
        assert session.scalars(select(models.MemoDelivery)).all() == []


def test_d2_another_partners_memo_is_not_found(db, actor, other_actor, memo_id, smtp_server):
    _smtp(db, other_actor, smtp_server)
    with pytest.raises(errors.NotFound):
        deliveries.request_send(db, actor=other_actor, memo_id=memo_id, to=["a@b.test"])
    with pytest.raises(errors.NotFound):
        deliveries.list_deliveries(db, actor=other_actor, memo_id=memo_id)


def test_d2_password_is_sealed_write_only_and_kept_when_left_out(db, actor, smtp_server):
    view = _smtp(db, actor, smtp_server, username="u", password="s3cret!")
    assert view.password_set and not hasattr(view, "password")
    with db.read() as session:
        row = session.get_one(models.EmailSettings, actor.partner_id)
        assert "s3cret" not in row.password_encrypted
        assert vault.open_sealed(row.password_encrypted) == {"password": "s3cret!"}
    _smtp(db, actor, smtp_server, username="u")  # password left out: kept
    with db.read() as session:
        assert email_settings.smtp_of(session, actor.partner_id).password == "s3cret!"
    assert not _smtp(db, actor, smtp_server, password="").password_set


def test_d2_smtp_authentication_is_used(db, actor, smtp_server, monkeypatch):
    """The stored password reaches the server's AUTH (the sealed one, opened)."""
    seen = []
    monkeypatch.setattr(delivery_job.smtplib.SMTP, "login",
                        lambda self, user, password: seen.append((user, password)))
    _smtp(db, actor, smtp_server, username="mailer", password="pw")
    cid = customers.create_customer(db, actor=actor, name="G", email="g@g.test").id
    d = deliveries.request_send(db, actor=actor, memo_id=factories.memo(db, actor, cid))
    delivery_job.run_due(db, base_seconds=1)
    assert seen == [("mailer", "pw")] and _row(db, d.id).status == "sent"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.5",
                                  "[::1]", "169.254.169.254", "mail.internal"])
def test_d2_private_smtp_hosts_are_refused_unless_allowed(db, actor, host, monkeypatch):
    monkeypatch.delenv("CREDITDESK_ALLOW_PRIVATE_URLS", raising=False)
    with pytest.raises(errors.ValidationError, match="private") as exc:
        email_settings.replace_settings(db, actor=actor, host=host, port=587,
                                        security="starttls", username=None,
                                        from_address="a@b.test")
    assert exc.value.errors[0].field == "host"


def test_d2_the_job_refuses_a_name_that_resolves_to_a_private_address(db, actor, memo_id,
                                                                        monkeypatch):
    monkeypatch.delenv("CREDITDESK_ALLOW_PRIVATE_URLS", raising=False)
    email_settings.replace_settings(db, actor=actor, host="smtp.example.com", port=587,
                                    security="starttls", username=None,
                                    from_address="a@b.test")
    monkeypatch.setattr(delivery_job.socket, "getaddrinfo",
                        lambda *a, **k: [(2, 1, 6, "", ("10.0.0.7", 587))])
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    delivery_job.run_due(db, base_seconds=1)
    row = _row(db, d.id)
    assert row.status == "failed" and "10.0.0.7" in row.last_error


def test_d2_two_workers_never_send_one_delivery_twice(db, actor, memo_id, smtp_server):
    """Both see it due; the committed claim lets only one talk to the server."""
    _smtp(db, actor, smtp_server)
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    first = delivery_job.claim(db, d.id)
    with db.write() as session:  # the second worker read the same due row before the claim
        session.execute(update(models.MemoDelivery).values(next_attempt_at=clock.now()))
    assert first is not None and delivery_job.attempt(db, d.id, base_seconds=1) is False
    assert smtp_server.messages == []
