"""Helpers for the HTTP API tests: building data through the API itself, a second partner's
client, the problem+json checks, and a snapshot of everything stored ("nothing changed")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.access import partners
from creditdesk.web.app import create_app

API = "/api/v1"
PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


@pytest.fixture
def other_partner(db: Database) -> partners.NewPartner:
    return partners.create_partner(db, name="Rival MSP", admin_email="admin@rival.test",
                                   admin_password="correct horse")


@pytest.fixture
def other_client(db: Database, other_partner: partners.NewPartner) -> Iterator[TestClient]:
    """A second partner's client on the same app and database (P4)."""
    with TestClient(create_app(db), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {other_partner.api_key}"
        yield c


@pytest.fixture
def anon(db: Database) -> Iterator[TestClient]:
    """A client without credentials."""
    with TestClient(create_app(db), raise_server_exceptions=False) as c:
        yield c


def problem(r: httpx.Response, status: int, code: str, field: str | None = None, *,
            ctx: object = None) -> dict:
    """Assert ``r`` is an API.md problem document with ``status`` and ``code``; ``ctx`` (the
    input that was sent) is shown when the assertion fails."""
    try:
        return _problem(r, status, code, field)
    except AssertionError as exc:
        if ctx is None:
            raise
        raise AssertionError(f"for input {ctx!r}: {exc}") from None


def _problem(r: httpx.Response, status: int, code: str, field: str | None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body = r.json()
    assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"}, body
    assert body["status"] == status and body["code"] == code, body
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10, body
    if "errors" in body:
        assert body["errors"], body
        for e in body["errors"]:
            assert set(e) == {"field", "message"} and e["field"] and e["message"], e
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, (field, body)
    return body


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    return r.json()


# --- building data through the API --------------------------------------------------

def customer(c: TestClient, name: str = "Globex", currency: str = "USD") -> str:
    return ok(c.post(f"{API}/customers", json={"name": name, "currency": currency}), 201)["id"]


def invoice(c: TestClient, customer_id: str, total: str = "100.00", *, issue: bool = True,
            currency: str | None = None, variant_id: str | None = None,
            quantity: int = 1) -> dict:
    body: dict[str, Any] = {"customer_id": customer_id, "lines": [
        {"description": "Managed services", "quantity": quantity, "unit_price": total,
         "variant_id": variant_id}]}
    if currency:
        body["currency"] = currency
    inv = ok(c.post(f"{API}/invoices", json=body), 201)
    if issue:
        inv = ok(c.post(f"{API}/invoices/{inv['id']}/issue"))
    return inv


def memo(c: TestClient, customer_id: str, amount: str = "50.00", *, issue: bool = True,
         **fields: Any) -> dict:
    body = {"customer_id": customer_id, "reason": "goodwill", "amount": amount, **fields}
    m = ok(c.post(f"{API}/credit-memos", json=body), 201)
    if issue:
        m = ok(c.post(f"{API}/credit-memos/{m['id']}/issue"))
    return m


def apply(c: TestClient, memo_id: str, invoice_id: str, amount: str) -> dict:
    return ok(c.post(f"{API}/credit-memos/{memo_id}/applications",
                     json={"invoice_id": invoice_id, "amount": amount}), 201)


def variant(c: TestClient, sku: str = "SKU-1", price: str = "25.00", stock: int = 10) -> dict:
    p = ok(c.post(f"{API}/products", json={"name": f"Product {sku}", "variants": [
        {"sku": sku, "name": f"Variant {sku}", "price": price, "stock_on_hand": stock}]}), 201)
    return p["variants"][0]


def world(c: TestClient) -> dict[str, Any]:
    """One of everything: customer, variant, issued invoice with a payment, an applied memo,
    a draft memo and a void memo."""
    cid = customer(c)
    var = variant(c)
    inv = invoice(c, cid, "100.00", variant_id=var["id"])
    ok(c.post(f"{API}/invoices/{inv['id']}/payments", json={"amount": "10.00"}), 201)
    applied = memo(c, cid, "30.00")
    apply(c, applied["id"], inv["id"], "20.00")
    draft = memo(c, cid, "5.00", issue=False)
    void = memo(c, cid, "7.00")
    ok(c.post(f"{API}/credit-memos/{void['id']}/void", json={"reason": "typo"}))
    return {"customer": cid, "variant": var["id"], "invoice": inv["id"],
            "memo": applied["id"], "draft": draft["id"], "void": void["id"]}


@pytest.fixture
def ids(client) -> dict[str, str]:
    """A customer (C), an issued invoice (I), an issued memo (M) and a draft memo (D)."""
    cid = customer(client)
    return {"C": cid, "I": invoice(client, cid, "100.00")["id"],
            "M": memo(client, cid, "50.00")["id"],
            "D": memo(client, cid, "5.00", issue=False)["id"]}


JSON = {"content-type": "application/json"}


def send_raw(client, ids, method: str, path: str, raw: bytes, headers=JSON):
    """``raw`` bytes to ``path``, with ``{C}``, ``{I}``… replaced by the ``ids``."""
    for k, v in ids.items():
        path = path.replace("{" + k + "}", v)
        raw = raw.replace(b"{" + k.encode() + b"}", v.encode())
    return client.request(method, f"{API}{path}", content=raw, headers=headers)


# --- "nothing changed" ------------------------------------------------------------

_SUMMED = {
    models.CreditMemo: (models.CreditMemo.total_minor, models.CreditMemo.applied_minor),
    models.Invoice: (models.Invoice.total_minor, models.Invoice.paid_minor,
                     models.Invoice.credited_minor),
    models.Variant: (models.Variant.stock_on_hand,),
    models.JournalEntry: (models.JournalEntry.amount_minor,),
}


def _totals() -> Any:
    """One SELECT of every count and sum: snapshots run around each fuzzed request."""
    parts = [select(func.count()).select_from(table).scalar_subquery().label(table.name)
             for table in models.Base.metadata.sorted_tables
             if table.name != "idempotency_records"]
    parts += [select(func.coalesce(func.sum(col), 0)).scalar_subquery()
              .label(f"{model.__tablename__}.{col.key}")
              for model, columns in _SUMMED.items() for col in columns]
    return select(*parts)


_TOTALS = _totals()


def snapshot(db: Database) -> dict[str, Any]:
    """Row counts of every table (idempotency records aside) and the sums that matter."""
    with db.read() as session:
        out: dict[str, Any] = {k: int(v or 0) for k, v in
                               session.execute(_TOTALS).one()._mapping.items()}
        out["statuses"] = sorted(session.execute(
            select(models.CreditMemo.id, models.CreditMemo.status, models.CreditMemo.updated_at)
        ).all())
        out["invoices"] = sorted(session.execute(
            select(models.Invoice.id, models.Invoice.status, models.Invoice.updated_at)).all())
    return out
