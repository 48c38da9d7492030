"""D1: a memo's PDF, drawn with fpdf2 (docs/decisions.md, "Memo PDFs and email"): the
partner's name, address and logo, the customer, number and dates, the lines with their
tax, the totals, the applications and refunds, and the customer-facing note. A void memo
is marked VOID. What it holds is ``MemoDocument``: it has no field for internal notes.

Text is drawn in DejaVu Sans, shipped in ``fonts/`` (Bitstream Vera licence, ``fonts/LICENSE``):
a core PDF font covers Latin-1 only, which would print a euro amount as "?1,234.50" and a
Polish, Greek or Cyrillic customer name as question marks. A character DejaVu has no glyph
for (CJK, for one) is written as its base letters or "?" (``_text``), so no name can make
drawing fail.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import cast

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money
from creditdesk.services.documents import profile as partner_profile
from creditdesk.services.read_models import views


@dataclass(frozen=True)
class AppliedLine:
    invoice_number: str
    applied_at: datetime
    amount: Money


@dataclass(frozen=True)
class RefundLine:
    refunded_at: date
    method: str
    reference: str | None
    amount: Money


@dataclass(frozen=True)
class MemoDocument:
    """Everything a memo's PDF shows, and nothing else (no internal notes)."""

    profile: partner_profile.ProfileView
    logo: partner_profile.Logo | None
    customer_name: str
    customer_email: str | None
    memo: views.MemoView
    original_invoice_number: str | None
    applications: list[AppliedLine]
    refunds: list[RefundLine]

    @property
    def customer_note(self) -> str | None:
        return self.memo.customer_note

    @property
    def filename(self) -> str:
        return f"{self.memo.number}.pdf"


log = logging.getLogger("creditdesk.documents")
FONT = "dejavu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_FONTS = Path(__file__).parent / "fonts"
_CONTROLS = str.maketrans({"\r": " ", "\t": " "})
REFUND_METHODS = {"card": "Card", "bank_transfer": "Bank transfer", "check": "Check",
                  "cash": "Cash", "other": "Other"}
# column widths (mm) of the lines table on an A4 page with 15 mm margins (180 mm wide)
_COLUMNS = (("Description", 78, "L"), ("Qty", 14, "R"), ("Unit price", 28, "R"),
            ("Tax", 28, "R"), ("Amount", 32, "R"))


def _text(pdf: _Pdf, text: object) -> str:
    """``text`` as the font can draw it: every character DejaVu has a glyph
    for as it is, any other reduced to its base letters or "?"."""
    value = str(text).translate(_CONTROLS)
    if value.isascii():
        return value
    glyphs = _char_widths(pdf)
    out = []
    for ch in value:
        if ord(ch) in glyphs:
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(base or "?")
    return "".join(out)


def _amount(pdf: _Pdf, value: Money | None) -> str:
    return _text(pdf, value.shown()) if value is not None else ""


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(110)
        self.cell(0, 5, _text(self, f"{self.footer_text} - page {self.page_no()}/{{nb}}"),
                  align="C")


def render(doc: MemoDocument) -> bytes:
    """The PDF of ``doc`` (A4)."""
    m = doc.memo
    pdf = _Pdf(format="A4", unit="mm")
    for style, file in _FONT_FILES.items():
        pdf.add_font(FONT, style, _FONTS / file)
    pdf.set_font(FONT, size=10)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(_text(pdf, f"Credit memo {m.number}"))
    pdf.set_author(_text(pdf, doc.profile.shown_name))
    pdf.set_creator("CreditDesk")
    pdf.footer_text = f"Credit memo {m.number}"
    pdf.add_page()
    if m.status == memo_rules.MemoStatus.VOID:
        _void_mark(pdf)
    _header(pdf, doc)
    _parties(pdf, doc)
    _lines(pdf, doc)
    _totals(pdf, doc)
    _uses(pdf, doc)
    if doc.customer_note:
        _heading(pdf, "Note")
        pdf.set_font(FONT, size=10)
        pdf.multi_cell(0, 5, _text(pdf, doc.customer_note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _header(pdf: _Pdf, doc: MemoDocument) -> None:
    top = pdf.get_y()
    if doc.logo is not None:
        try:
            pdf.image(io.BytesIO(doc.logo.data), x=15, y=top, h=18, keep_aspect_ratio=True)
            pdf.set_y(top + 20)
        except Exception:  # checked when uploaded (logo.check); a PDF is never refused for it
            log.warning("the partner's logo could not be drawn; the PDF goes without it")
    p = doc.profile
    pdf.set_font(FONT, style="B", size=13)
    pdf.cell(110, 7, _text(pdf, p.shown_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    for line in [*p.address, p.email or "", p.phone or ""]:
        if line:
            pdf.cell(110, 4.5, _text(pdf, line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y()
    pdf.set_xy(120, top)
    pdf.set_font(FONT, style="B", size=18)
    pdf.cell(75, 9, "CREDIT MEMO", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    m = doc.memo
    facts = [("Number", m.number),
             ("Issue date", m.issue_date.isoformat() if m.issue_date else ""),
             ("Status", m.status.replace("_", " ").capitalize())]
    if doc.original_invoice_number:
        facts.append(("Invoice", doc.original_invoice_number))
    if m.voided_at:
        facts.append(("Voided", m.voided_at.date().isoformat()))
    for name, value in facts:
        pdf.set_x(120)
        pdf.cell(75, 5, _text(pdf, f"{name}: {value}"), align="R", new_x=XPos.LEFT,
                 new_y=YPos.NEXT)
    pdf.set_y(max(bottom, pdf.get_y()) + 6)


def _heading(pdf: _Pdf, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(FONT, style="B", size=11)
    pdf.cell(0, 7, _text(pdf, text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _parties(pdf: _Pdf, doc: MemoDocument) -> None:
    pdf.set_font(FONT, style="B", size=9)
    pdf.cell(0, 5, "Credit to", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    pdf.cell(0, 5, _text(pdf, doc.customer_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if doc.customer_email:
        pdf.cell(0, 5, _text(pdf, doc.customer_email), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 5, _text(pdf, f"Reason: {doc.memo.reason.replace('_', ' ').capitalize()}"),
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _char_widths(pdf: _Pdf) -> Mapping[int, float]:
    """The current font's widths per code point (thousandths of the font size); a code
    point it has no glyph for is not in it."""
    font = pdf.current_font
    if not isinstance(font, TTFFont):  # only DejaVu is used
        raise TypeError("the bundled TrueType font is expected")
    return cast(Mapping[int, float], font.cw)


def _width(pdf: _Pdf, text: str) -> float:
    """``text``'s width in mm in the current font (its own widths table: fpdf2's
    ``get_string_width`` costs ~0.2 ms a call, too much for a 200-line memo)."""
    widths = _char_widths(pdf)
    return sum(widths.get(ord(ch), 600) for ch in text) * pdf.font_size / 1000


def _fit(pdf: _Pdf, text: str, width: float) -> str:
    """``text`` shortened with "..." to fit ``width`` mm."""
    if _width(pdf, text) <= width:
        return text
    widths, scale = _char_widths(pdf), pdf.font_size / 1000
    room, used = width - _width(pdf, "..."), 0.0
    for i, ch in enumerate(text):
        used += widths.get(ord(ch), 600) * scale
        if used > room:
            return text[:i].rstrip() + "..."
    return text


def _row(pdf: _Pdf, cells: list[str], *, bold: bool = False, fill: bool = False) -> None:
    """One row of the lines table, drawn with ``text()`` (a tenth of ``cell()``'s cost)."""
    height, pad = 6.0, 1.0
    pdf.set_font(FONT, style="B" if bold else "", size=9)
    x, y = pdf.l_margin, pdf.get_y()
    if fill:
        pdf.rect(x, y, sum(c[1] for c in _COLUMNS), height, style="F")
    baseline = y + height / 2 + pdf.font_size * 0.35
    for (_, width, align), text in zip(_COLUMNS, cells, strict=True):
        shown = _fit(pdf, text, width - 2 * pad)
        left = x + pad if align == "L" else x + width - pad - _width(pdf, shown)
        if shown:
            pdf.text(left, baseline, shown)
        x += width
    if bold:
        pdf.line(pdf.l_margin, y + height, x, y + height)
    pdf.set_xy(pdf.l_margin, y + height)


def _lines(pdf: _Pdf, doc: MemoDocument) -> None:
    m = doc.memo
    _heading(pdf, "Lines")
    pdf.set_fill_color(240)
    _row(pdf, [c[0] for c in _COLUMNS], bold=True)
    if not m.lines:
        _row(pdf, [_text(pdf, m.reason.replace("_", " ").capitalize() + " credit"), "", "", "",
                   _amount(pdf, m.total)])
        return
    for i, li in enumerate(m.lines):
        if pdf.get_y() + 6 > pdf.page_break_trigger:
            pdf.add_page()
            _row(pdf, [c[0] for c in _COLUMNS], bold=True)
        _row(pdf, [_text(pdf, li.description), "" if li.quantity is None else str(li.quantity),
                   _amount(pdf, li.unit_price), _amount(pdf, li.tax) if li.tax is not None else "",
                   _amount(pdf, li.amount)], fill=i % 2 == 1)


def _pair(pdf: _Pdf, name: str, value: str, *, bold: bool = False) -> None:
    pdf.set_font(FONT, style="B" if bold else "", size=10)
    pdf.set_x(95)
    pdf.cell(60, 6, _text(pdf, name), align="R")
    pdf.cell(40, 6, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _totals(pdf: _Pdf, doc: MemoDocument) -> None:
    m = doc.memo
    pdf.ln(2)
    if m.subtotal is not None and m.tax_total is not None and m.tax_total.minor:
        _pair(pdf, "Subtotal" + (" (tax included)" if m.tax_inclusive else ""),
              _amount(pdf, m.subtotal))
        for t in m.taxes or []:
            _pair(pdf, t.name, _amount(pdf, t.amount))
    _pair(pdf, "Total credit", _amount(pdf, m.total), bold=True)
    _pair(pdf, "Applied to invoices", _amount(pdf, m.applied_to_invoices))
    if m.refunded_amount is not None and m.refunded_amount.minor:
        _pair(pdf, "Refunded", _amount(pdf, m.refunded_amount))
    _pair(pdf, "Remaining credit", _amount(pdf, m.remaining_amount), bold=True)


def _uses(pdf: _Pdf, doc: MemoDocument) -> None:
    if doc.applications:
        _heading(pdf, "Applied to invoices")
        pdf.set_font(FONT, size=9)
        for a in doc.applications:
            pdf.cell(60, 5, _text(pdf, a.invoice_number))
            pdf.cell(60, 5, a.applied_at.date().isoformat())
            pdf.cell(60, 5, _amount(pdf, a.amount), align="R", new_x=XPos.LMARGIN,
                     new_y=YPos.NEXT)
    if doc.refunds:
        _heading(pdf, "Refunds")
        pdf.set_font(FONT, size=9)
        for r in doc.refunds:
            method = REFUND_METHODS.get(r.method, r.method)
            pdf.cell(60, 5, r.refunded_at.isoformat())
            pdf.cell(60, 5, _text(pdf, method + (f" ({r.reference})" if r.reference else "")))
            pdf.cell(60, 5, _amount(pdf, r.amount), align="R", new_x=XPos.LMARGIN,
                     new_y=YPos.NEXT)


def _void_mark(pdf: _Pdf) -> None:
    """A void memo says so across its first page, drawn before its content."""
    with pdf.rotation(30, x=105, y=150):
        pdf.set_font(FONT, style="B", size=90)
        pdf.set_text_color(230, 120, 120)
        pdf.set_xy(30, 135)
        pdf.cell(150, 30, "VOID", align="C")
    pdf.set_text_color(0)
    pdf.set_xy(15, 15)
