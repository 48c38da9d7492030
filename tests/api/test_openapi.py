"""The OpenAPI document and the interactive docs (API.md conventions)."""

from __future__ import annotations

from tests.api.conftest import API, ok

ENDPOINTS = [
    ("post", "/customers"), ("get", "/customers"), ("get", "/customers/{customer_id}"),
    ("get", "/customers/{customer_id}/credit-summary"), ("post", "/products"),
    ("get", "/variants/{variant_id}"), ("get", "/inventory-activities"), ("post", "/invoices"),
    ("get", "/invoices"), ("get", "/invoices/{invoice_id}"),
    ("post", "/invoices/{invoice_id}/issue"), ("post", "/invoices/{invoice_id}/void"),
    ("post", "/invoices/{invoice_id}/payments"),
    ("delete", "/invoices/{invoice_id}/credits/{credit_memo_id}"),
    ("post", "/invoices/{invoice_id}/credit-memos"), ("post", "/credit-memos"),
    ("get", "/credit-memos"), ("get", "/credit-memos/{memo_id}"),
    ("patch", "/credit-memos/{memo_id}"), ("delete", "/credit-memos/{memo_id}"),
    ("post", "/credit-memos/{memo_id}/issue"), ("post", "/credit-memos/{memo_id}/void"),
    ("post", "/credit-memos/{memo_id}/applications"),
    ("get", "/credit-memos/{memo_id}/applications"),
    ("delete", "/credit-memos/{memo_id}/applications"), ("get", "/journal-entries"),
    ("get", "/reports/trial-balance"), ("get", "/audit-events"),
]


def _schema(doc: dict, ref_or_schema: dict) -> dict:
    ref = ref_or_schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


def _response(doc: dict, method: str, path: str, status: str) -> dict:
    content = doc["paths"][f"{API}{path}"][method]["responses"][status]["content"]
    return _schema(doc, content["application/json"]["schema"])


def test_openapi_document_loads_without_credentials(anon):
    doc = ok(anon.get("/openapi.json"))
    assert doc["openapi"].startswith("3.") and doc["info"]["title"] == "CreditDesk"
    for method, path in ENDPOINTS:
        assert method in doc["paths"].get(f"{API}{path}", {}), (method, path)


def test_docs_page_answers_200(anon):
    r = anon.get("/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "openapi.json" in r.text


def test_openapi_declares_the_status_codes_of_api_md(anon):
    doc = ok(anon.get("/openapi.json"))
    creates = [("post", "/customers"), ("post", "/products"), ("post", "/invoices"),
               ("post", "/invoices/{invoice_id}/payments"), ("post", "/credit-memos"),
               ("post", "/invoices/{invoice_id}/credit-memos"),
               ("post", "/credit-memos/{memo_id}/applications")]
    for method, path in creates:
        assert "201" in doc["paths"][f"{API}{path}"][method]["responses"], path
    assert "204" in doc["paths"][f"{API}/credit-memos/{{memo_id}}"]["delete"]["responses"]


def test_openapi_describes_the_memo_and_invoice_objects(anon):
    doc = ok(anon.get("/openapi.json"))
    memo = _response(doc, "get", "/credit-memos/{memo_id}", "200")
    assert set(memo["properties"]) == {
        "id", "number", "customer_id", "currency", "reason", "status", "issue_date",
        "invoice_id", "lines", "total", "applied_amount", "remaining_amount", "notes", "source",
        "external_id", "read_only", "issued_at", "applied_at", "voided_at", "void_reason",
        "created_at", "updated_at"}
    assert memo["properties"]["total"]["type"] == "string"
    invoice = _response(doc, "get", "/invoices/{invoice_id}", "200")
    assert {"id", "number", "customer_id", "currency", "status", "lines", "total", "amount_paid",
            "credit_applied", "balance_due", "payments", "credits_applied"} <= set(
        invoice["properties"])
    page = _response(doc, "get", "/credit-memos", "200")
    assert set(page["properties"]) == {"data", "next_cursor"}
    applied = _response(doc, "post", "/credit-memos/{memo_id}/applications", "201")
    assert set(applied["properties"]) == {"application", "credit_memo", "invoice"}


def test_e7_request_amounts_are_decimal_strings_or_exact_numbers(anon):
    doc = ok(anon.get("/openapi.json"))
    schemas = doc["components"]["schemas"]
    text, number = schemas["ApplicationIn"]["properties"]["amount"]["anyOf"]
    assert text["type"] == "string" and text["pattern"].startswith("^")
    assert number["type"] == "number" and number["exclusiveMinimum"] == 0
    assert number["maximum"] == 999_999_999_999
    assert schemas["ApplicationIn"]["additionalProperties"] is False
