"""B11: the PDF of a 200-line memo (issue 15, item 6: D1), on SQLite.

Set-up, not timed: a partner with its profile and a PNG logo, a tax rate, a customer and an
issued memo of N lines (each with the rate), one application and one refund. Timed, k times
each (interleaved, after a warm-up): ``services.documents.memo_documents.memo_pdf`` — the
whole answer of ``GET /credit-memos/{id}/pdf`` less HTTP: the memo, its lines, customer,
profile, applications and refunds read in one transaction, then drawn with fpdf2 — and the
drawing alone (``drawing.render`` of the document read once). Target: the whole PDF of a
200-line memo in < 200 ms (p90). A measured figure, not a timed test. ``--quick``: k = 10;
``--n``: lines.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from typing import Any

from bench import common

LINES = 200
SAMPLES = 50
TARGET_MS = 200.0


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    width, height = 120, 40
    raw = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _seed(db: Any, n: int) -> tuple[Any, str]:
    from creditdesk.services.credit_memos import credit, memo_lifecycle, memos, refunds
    from creditdesk.services.customer_accounts import customers
    from creditdesk.services.documents import profile
    from creditdesk.services.invoicing import invoices, tax_rates

    actor, _ = common.new_partner(db)
    profile.replace_profile(db, actor=actor, legal_name="Bench Managed Services LLC",
                            address=["100 Benchmark Way", "Suite 200", "Portland, OR 97201"],
                            email="billing@bench.test", phone="+1 503 555 0100")
    profile.set_logo(db, actor=actor, data=_png())
    rate = tax_rates.create_tax_rate(db, actor=actor, name="State + county", components=[
        {"name": "State", "rate": "6.25"}, {"name": "County", "rate": "1"}])
    cid = customers.create_customer(db, actor=actor, name="Globex Corporation",
                                    email="ap@globex.test").id
    lines = [{"description": f"Returned item {i + 1}: managed switch port licence, 12 months",
              "quantity": 1 + i % 5, "unit_price": f"{10 + i % 90}.{i % 100:02d}",
              "tax_rate_id": rate.id} for i in range(n)]
    m = memos.create_memo(db, actor=actor, customer_id=cid, reason="returned_goods",
                          lines=lines, customer_note="Thank you for your business.")
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m.id)
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
        {"description": "Services", "quantity": 1, "unit_price": "500.00"}])
    invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    credit.apply_credit(db, actor=actor, memo_id=m.id, invoice_id=inv.id, amount="100.00")
    refunds.refund_memo(db, actor=actor, memo_id=m.id, amount="50.00", method="check")
    return actor, m.id


def run(opts: Any) -> None:
    from pypdf import PdfReader

    from creditdesk.services.documents import drawing, memo_documents

    n = opts.n or LINES
    k = 10 if opts.quick else SAMPLES
    with common.scratch_dir("b11-") as tmp:
        db = common.migrated(common.sqlite_url(tmp, "pdf"))
        try:
            actor, memo_id = _seed(db, n)
            with db.read() as session:
                doc = memo_documents.read_document(session, actor.partner_id, memo_id)
            samples = common.interleaved_samples({
                "whole": lambda i: memo_documents.memo_pdf(db, actor=actor, memo_id=memo_id),
                "drawing": lambda i: drawing.render(doc)}, k, warmup=3)
            pdf = memo_documents.memo_pdf(db, actor=actor, memo_id=memo_id).content
        finally:
            db.dispose()
    t0 = time.perf_counter()
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(p.extract_text() for p in reader.pages)
    read_s = time.perf_counter() - t0
    whole = common.latency_summary(samples["whole"])
    met = whole["p90_ms"] < TARGET_MS
    result = {"quick": bool(opts.quick), "lines": n, "samples": k,
              "whole_pdf": whole, "drawing_only": common.latency_summary(samples["drawing"]),
              "target_ms": TARGET_MS, "met": met, "pdf_bytes": len(pdf),
              "pages": len(reader.pages),
              "all_lines_in_text": all(f"Returned item {i + 1}:" in text for i in range(n)),
              "text_read_back_ms": round(read_s * 1e3, 1)}
    common.say(f"B11 memo PDF, {n} lines, {len(reader.pages)} pages, {len(pdf):,} bytes: "
               f"whole p50 {whole['p50_ms']:.1f} ms, p90 {whole['p90_ms']:.1f} ms "
               f"(target < {TARGET_MS:.0f} ms: {common.verdict(met)}); drawing alone p50 "
               f"{result['drawing_only']['p50_ms']:.1f} ms")
    path = common.write_result("b11_memo_pdf", result, dev=common.is_dev(opts))
    common.say(f"written {path}")
