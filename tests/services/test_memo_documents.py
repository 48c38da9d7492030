"""D1: every issued memo has a PDF — the partner's name, address and logo, the customer,
number, dates, lines with tax, totals, applications and refunds and the customer-facing
note, never the internal notes — read back as text with pypdf."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from pypdf import PdfReader

from creditdesk.domain import errors
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos, refunds
from creditdesk.services.customer_accounts import customers, visibility
from creditdesk.services.documents import memo_documents, profile
from creditdesk.services.invoicing import tax_rates
from tests import factories


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def png(width: int = 4, height: int = 2) -> bytes:
    """A real (tiny, red) PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def branded(db, actor):
    profile.replace_profile(db, actor=actor, legal_name="Acme Managed Services LLC",
                            address=["12 Harbour Road", "Portland, OR 97201"],
                            email="billing@acme.test", phone="+1 503 555 0100")
    return profile.set_logo(db, actor=actor, data=png())


def test_d1_pdf_shows_partner_customer_lines_tax_totals_uses_and_customer_note(
        db, actor, branded):
    cid = customers.create_customer(db, actor=actor, name="Globex Corp",
                                    email="ap@globex.test").id
    rate = tax_rates.create_tax_rate(db, actor=actor, name="CA sales tax", rate="10")
    inv = factories.invoice(db, actor, cid, "500.00")
    m = memos.create_memo(db, actor=actor, customer_id=cid, reason="returned_goods",
                          lines=[{"description": "Returned router", "quantity": 2,
                                  "unit_price": "40.00", "tax_rate_id": rate.id}],
                          notes="INTERNAL: customer threatened to churn",
                          customer_note="Thank you for your patience.")
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m.id)
    credit.apply_credit(db, actor=actor, memo_id=m.id, invoice_id=inv, amount="30.00")
    refunds.refund_memo(db, actor=actor, memo_id=m.id, amount="20.00", method="check",
                        reference="CHK-881")

    file = memo_documents.memo_pdf(db, actor=actor, memo_id=m.id)

    assert file.content.startswith(b"%PDF-")
    assert file.filename == f"{m.number}.pdf"
    text = text_of(file.content)
    for shown in ("Acme Managed Services LLC", "12 Harbour Road", "Portland, OR 97201",
                  "billing@acme.test", "Globex Corp", m.number, "Returned router",
                  "$80.00", "CA sales tax", "$8.00", "$88.00", "$30.00", "$20.00", "$38.00",
                  "CHK-881", "Thank you for your patience."):
        assert shown in text, shown
    assert "INTERNAL" not in text and "churn" not in text  # never the internal notes
    reader = PdfReader(io.BytesIO(file.content))
    assert list(reader.pages[0].images), "the logo is drawn"


def test_d1_a_draft_has_no_pdf(db, actor):
    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid, issue=False)
    with pytest.raises(errors.InvalidState, match="draft"):
        memo_documents.memo_pdf(db, actor=actor, memo_id=mid)


def test_d1_a_void_memo_is_marked_void(db, actor):
    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid)
    memo_lifecycle.void_memo(db, actor=actor, memo_id=mid, reason="issued by mistake")
    assert "VOID" in text_of(memo_documents.memo_pdf(db, actor=actor, memo_id=mid).content)


def test_d1_another_partners_memo_is_not_found(db, actor, other_actor):
    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid)
    with pytest.raises(errors.NotFound):
        memo_documents.memo_pdf(db, actor=other_actor, memo_id=mid)


def test_d1_portal_pdf_only_while_credit_is_visible_and_only_its_own(db, actor):
    mine = factories.customer(db, actor, "Mine")
    theirs = factories.customer(db, actor, "Theirs")
    mid = factories.memo(db, actor, mine)
    draft = factories.memo(db, actor, mine, issue=False)
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True, exceptions=[])
    got = memo_documents.portal_memo_pdf(db, partner_id=actor.partner_id, customer_id=mine,
                                         memo_id=mid)
    assert got.content.startswith(b"%PDF-")
    for customer_id, memo_id in ((theirs, mid), (mine, draft)):
        with pytest.raises(errors.NotFound):
            memo_documents.portal_memo_pdf(db, partner_id=actor.partner_id,
                                           customer_id=customer_id, memo_id=memo_id)
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True,
                               exceptions=[mine])  # P2: the exception gets the opposite
    with pytest.raises(errors.NotFound):
        memo_documents.portal_memo_pdf(db, partner_id=actor.partner_id, customer_id=mine,
                                       memo_id=mid)


def test_d1_customer_note_is_kept_apart_from_notes_on_create_and_update(db, actor):
    cid = factories.customer(db, actor)
    m = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill",
                          amount="10.00", notes="internal", customer_note="for you")
    assert (m.notes, m.customer_note) == ("internal", "for you")
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={"customer_note": "  "})
    assert (m.notes, m.customer_note) == ("internal", None)
    with pytest.raises(errors.ValidationError, match="customer_note"):
        memos.update_memo(db, actor=actor, memo_id=m.id, changes={"customer_note": "x" * 2001})


def test_d1_logo_must_be_png_or_jpeg_and_small(db, actor):
    with pytest.raises(errors.ValidationError, match="PNG or JPEG"):
        profile.set_logo(db, actor=actor, data=b"GIF89a....")
    with pytest.raises(errors.ValidationError, match="KiB"):
        profile.set_logo(db, actor=actor, data=png()[:8] + b"\x00" * (600 * 1024))
    with pytest.raises(errors.ValidationError, match="could not be read"):
        profile.set_logo(db, actor=actor, data=b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    assert profile.set_logo(db, actor=actor, data=jpeg()).has_logo


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 4), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def test_d1_names_outside_latin1_are_drawn_and_unknown_glyphs_do_not_break_the_pdf(db, actor):
    cid = customers.create_customer(db, actor=actor, name="Łódź Software — 東京").id
    mid = factories.memo(db, actor, cid, customer_note="Grüße — “thanks” Ελλάδα Москва")
    text = text_of(memo_documents.memo_pdf(db, actor=actor, memo_id=mid).content)
    # Polish, Greek, Cyrillic, typographic marks as written; CJK (no glyph) as "?"
    assert "Łódź Software — ??" in text and "Grüße — “thanks” Ελλάδα Москва" in text


def test_d1_a_euro_amount_prints_its_sign(db, actor):
    cid = customers.create_customer(db, actor=actor, name="Ambrosia GmbH", currency="EUR").id
    mid = factories.memo(db, actor, cid)
    text = text_of(memo_documents.memo_pdf(db, actor=actor, memo_id=mid).content)
    assert "€100.00" in text and "?" not in text
