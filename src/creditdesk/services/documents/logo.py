"""D1: an uploaded logo is checked by drawing it once, as the PDFs will."""

from __future__ import annotations

import io

from fpdf import FPDF

from creditdesk.domain import errors


def check(data: bytes) -> None:
    """The logo can be drawn: its bytes decode as the image they say they are (Pillow)."""
    pdf = FPDF()
    pdf.add_page()
    try:
        pdf.image(io.BytesIO(data), x=10, y=10, h=18, keep_aspect_ratio=True)
    except Exception:  # Pillow's and fpdf2's errors for a broken image are many
        raise errors.ValidationError.for_field(
            "logo", "the image could not be read; save it again as PNG or JPEG") from None
