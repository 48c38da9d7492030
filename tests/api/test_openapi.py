"""The OpenAPI document and the interactive docs (API.md conventions)."""

from __future__ import annotations

import re

from tests.api.conftest import API, customer, memo, ok, problem

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
        "created_at", "updated_at", "refunded_amount", "refunds", "approval",
        "subtotal", "tax_total", "taxes", "tax_inclusive", "customer_note"}
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


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _ref(doc: dict, schema: dict) -> dict:
    return doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]


def test_e7_every_operation_declares_every_error_answer_as_problem_json(anon):
    """The statuses follow from what an operation is (openapi.py): 500/503 always, 401 when
    authenticated, 404 with path ids, 409/413/422 on changes, 422 with parameters."""
    doc = ok(anon.get("/openapi.json"))
    operations = list(_operations(doc))
    assert len(operations) >= 43
    for method, path, operation in operations:
        statuses = set(operation["responses"])
        expected = {"500", "503"}
        if path != f"{API}/integrations/oauth/callback":
            expected.add("401")
            assert operation["security"] == [{"bearerAuth": []}], path
        if "{" in path:
            expected.add("404")
        if method != "get":
            expected |= {"409", "413", "422"}
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            expected.add("422")
        assert expected <= statuses, (method, path, sorted(expected - statuses))
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            assert set(response["content"]) == {"application/problem+json"}, (path, status)
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema["$ref"] == f"#/components/schemas/Problem{status}", (path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_e7_reads_without_parameters_declare_no_422(anon):
    doc = ok(anon.get("/openapi.json"))
    for path in [f"{API}/customers/{{customer_id}}", f"{API}/credit-memos/{{memo_id}}",
                 f"{API}/settings/credit-balance-visibility",
                 f"{API}/settings/portal-credit-application"]:
        assert "422" not in doc["paths"][path]["get"]["responses"], path


def test_e7_the_problem_schema_lists_each_status_codes_from_the_error_table(anon):
    doc = ok(anon.get("/openapi.json"))
    schemas = doc["components"]["schemas"]
    problem_schema = schemas["Problem"]
    assert set(problem_schema["required"]) == {"type", "title", "status", "detail", "code"}
    assert set(problem_schema["properties"]) == {"type", "title", "status", "detail", "code",
                                                 "errors"}
    assert set(_ref(doc, problem_schema["properties"]["errors"]["items"])["required"]) == {
        "field", "message"}

    def codes(status: int) -> set[str]:
        return set(schemas[f"Problem{status}"]["allOf"][1]["properties"]["code"]["enum"])

    assert codes(401) == {"unauthenticated"} and codes(404) == {"not_found"}
    assert {"invalid_state", "memo_has_applications", "read_only", "conflict",
            "idempotency_key_in_progress"} <= codes(409)
    assert {"validation_error", "exceeds_memo_remaining", "exceeds_invoice_balance",
            "exceeds_invoice_total", "currency_mismatch", "customer_mismatch",
            "idempotency_key_reused"} <= codes(422)
    assert codes(413) == {"request_too_large"} and codes(500) == {"internal_error"}
    assert codes(503) == {"unavailable"}
    unauthenticated = doc["paths"][f"{API}/customers"]["get"]["responses"]["401"]
    assert unauthenticated["headers"]["WWW-Authenticate"]["required"] is True


def test_e7_post_operations_take_an_optional_idempotency_key(anon):
    doc = ok(anon.get("/openapi.json"))
    posts = [(p, op) for m, p, op in _operations(doc) if m == "post"
             and p != f"{API}/integrations/oauth/callback"]
    assert len(posts) >= 15
    for path, operation in posts:
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and header["required"] is False, path
        assert header["schema"]["maxLength"] == 255
        assert "idempotency_key_reused" in header["description"]
        assert {"409", "422"} <= set(operation["responses"]), path
        success = next(r for s, r in operation["responses"].items() if s.startswith("2"))
        assert success["headers"]["Idempotent-Replayed"]["required"] is False


def test_e7_request_schemas_state_what_the_server_enforces(anon):
    doc = ok(anon.get("/openapi.json"))
    schemas = doc["components"]["schemas"]
    memo_in, line = schemas["MemoIn"]["properties"], schemas["LineIn"]["properties"]
    assert len(memo_in["reason"]["enum"]) == 8 and "goodwill" in memo_in["reason"]["enum"]
    currency = memo_in["currency"]["anyOf"][0]
    assert "USD" in currency["enum"] and "usd" not in currency["enum"]
    assert memo_in["notes"]["anyOf"][0]["maxLength"] == 5000
    assert memo_in["lines"]["anyOf"][0]["maxItems"] == 500
    assert memo_in["issue_date"]["anyOf"][0] == {"type": "string", "format": "date",
                                                 "examples": ["2024-05-01"]}
    assert (line["quantity"]["minimum"], line["quantity"]["maximum"]) == (1, 1_000_000)
    assert line["description"]["maxLength"] == 500 and line["description"]["pattern"]
    assert schemas["InvoiceIn"]["properties"]["lines"]["minItems"] == 1
    assert schemas["PaymentIn"]["properties"]["paid_at"]["anyOf"][0]["format"] == "date-time"
    assert schemas["VoidIn"]["properties"]["reason"]["maxLength"] == 1000
    variant = schemas["VariantIn"]["properties"]
    assert (variant["stock_on_hand"]["minimum"], variant["stock_on_hand"]["maximum"]) == (
        0, 1_000_000_000)
    shapes = {s["title"]: s for s in schemas["IntegrationIn"]["oneOf"]}
    assert shapes["QuickBooks Online"]["required"] == ["provider", "region"]
    assert shapes["QuickBooks Online"]["properties"]["region"]["enum"] == ["us", "ca"]
    assert shapes["Xero"]["additionalProperties"] is False
    limit = next(p for p in doc["paths"][f"{API}/credit-memos"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200)


def test_e7_amount_pattern_matches_exactly_the_amounts_the_server_takes():
    """The string form of an amount in the document against Money.parse_positive."""
    from creditdesk.domain import money
    from creditdesk.web.api import fields

    pattern = re.compile(fields.POSITIVE_AMOUNT)
    for text in ["60", "60.", "60.00", "0.5", ".5", "0.0001", "007", "1.50000",
                 "999999999999", "999999999999.000", "999999999998.9999", "899999999999.5",
                 "0.1000", "0009"]:
        assert pattern.fullmatch(text), text
        money.Money.parse_positive(text, "CLF")  # 4 decimals: the most any currency has
    for text in ["0", "0.00", ".0", "-1", "+1", "1e3", "1,5", " 1", "0.00001", "1.23456",
                 "1000000000000", "999999999999.01", "\u0661", "", "."]:
        assert not pattern.fullmatch(text), text


def _unconstrained_strings(schema: dict, outer: dict | None = None) -> list[dict]:
    """The string schemas (of values, or of array items) with neither a pattern nor an
    enum, here or on the schema around them (a keyword applies to every branch)."""
    outer = outer or {}
    if "pattern" in schema or "enum" in schema or "pattern" in outer or "enum" in outer:
        return []
    found = [schema] if schema.get("type") == "string" else []
    if "items" in schema:
        found += _unconstrained_strings(schema["items"])
    for branch in schema.get("anyOf", []):
        found += _unconstrained_strings(
            {**branch, **({"items": schema["items"]} if "items" in schema else {})}, schema)
    return found


def test_e7_every_text_query_parameter_states_what_it_refuses(anon):
    """A NUL in any query parameter an operation reads is refused (PostgreSQL can't compare
    it): the document says so, with a pattern, or lists the values (fuzzing found realmId)."""
    doc = ok(anon.get("/openapi.json"))
    for method, path, operation in _operations(doc):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                assert not _unconstrained_strings(parameter["schema"]), (method, path,
                                                                         parameter)


def test_e7_non_blank_text_means_what_the_services_strip(client):
    """``\\s`` differs between regex engines; the services strip what Python calls
    whitespace, so a name of U+001C was schema-valid and refused (found by make fuzz)."""
    import jsonschema_rs

    from creditdesk.web.api import fields

    doc = ok(client.get("/openapi.json"))
    pattern = doc["components"]["schemas"]["LineIn"]["properties"]["description"]["pattern"]
    ecma = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
    for space in [chr(c) for c in range(0x110000) if chr(c).isspace()]:
        assert not ecma.is_valid(space) and not re.search(pattern, space), hex(ord(space))
        problem(client.post(f"{API}/customers", json={"name": space * 2}), 422,
                "validation_error", "name")
    for text in ["a", "a\x1c", "\ufeff", " x "]:
        assert ecma.is_valid(text) and re.search(pattern, text), text
    assert pattern == fields.NON_BLANK


def test_e7_a_memo_reason_may_be_left_out_of_a_patch_but_not_sent_null(client):
    doc = ok(client.get("/openapi.json"))
    reason = doc["components"]["schemas"]["MemoPatch"]["properties"]["reason"]
    assert "anyOf" not in reason and reason["type"] == "string" and "default" not in reason
    draft = memo(client, customer(client), "5.00", issue=False)
    problem(client.patch(f"{API}/credit-memos/{draft['id']}", json={"reason": None}), 422,
            "validation_error", "reason")
    assert ok(client.patch(f"{API}/credit-memos/{draft['id']}",
                           json={"notes": None}))["reason"] == "goodwill"
