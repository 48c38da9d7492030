"""Nothing a client sends to a page yields a 500 (E3): odd values, missing fields,
unknown ids and malformed bodies get a clear page and change nothing."""

from __future__ import annotations

import pytest

from creditdesk.services.credit_memos import memos
from tests import factories

ODD = ["", " ", "0", "-1", "1e999", "NaN", "1,000.00", "\uff19", "x" * 5000, "\x00", "<script>"]


def test_every_memo_form_survives_odd_values(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cid)
    draft = factories.memo(db, actor, cid, "10.00", issue=False)
    issued = factories.memo(db, actor, cid, "10.00")
    for value in ODD:
        for url, data in [
            ("/dashboard/credit-memos/new", {"customer_id": value, "reason": value,
                                             "amount": value, "line_count": value,
                                             "issue_date": value, "invoice_number": value}),
            ("/dashboard/credit-memos/new", {"customer_id": cid, "reason": "goodwill",
                                             "line_count": "1", "line-0-description": value,
                                             "line-0-quantity": value,
                                             "line-0-unit_price": value,
                                             "line-0-variant_id": value}),
            (f"/dashboard/credit-memos/{draft}/edit", {"reason": value, "amount": value,
                                                       "line_count": "2"}),
            (f"/dashboard/credit-memos/{issued}/apply", {"invoice_id": value, "amount": value}),
            (f"/dashboard/credit-memos/{issued}/apply", {"invoice_id": inv, "amount": value}),
            (f"/dashboard/credit-memos/{issued}/void", {"reason": value[:1]}),
            (f"/dashboard/invoices/{inv}/credit-memos", {"reason": value}),
            ("/dashboard/preferences/credit-balance-visibility/exceptions",
             {"customer_id": value}),
        ]:
            r = admin.post(url, data)
            assert r.status_code < 500, (url, value, r.status_code)
    assert [m.id for m in memos.list_memos(db, actor=actor).data] == [issued, draft]


def test_new_memo_without_a_customer_says_so(admin) -> None:
    r = admin.post("/dashboard/credit-memos/new", {"reason": "goodwill", "amount": "5",
                                                   "line_count": "1"})
    assert r.status_code == 422 and "Choose a customer" in r.text
    assert "customer_id:" not in r.text  # in words, not the field's name


@pytest.mark.parametrize("url", ["/dashboard/credit-memos?cursor=!!", "/portal/invoices",
                                 "/dashboard/invoices?cursor=%00", "/dashboard/customers/%00",
                                 "/dashboard/credit-memos/cm_nope", "/dashboard/invoices/x"])
def test_odd_addresses_are_clear_pages(admin, url) -> None:
    r = admin.get(url)
    assert 400 <= r.status_code < 500 and "text/html" in r.headers["content-type"]


def test_malformed_form_body_is_refused_cleanly(admin) -> None:
    r = admin.c.post("/login", content=b"--x\r\nbroken", headers={
        "content-type": "multipart/form-data; boundary=x"})
    assert 400 <= r.status_code < 500
