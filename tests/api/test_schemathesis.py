"""E7 and E3 from the outside: schemathesis generates requests for every operation of the
OpenAPI document and checks each answer against it.

A bounded run, part of ``make test``; ``make fuzz`` runs the same test with many more
examples (``CREDITDESK_FUZZ_EXAMPLES``). Every operation runs against a fresh database with a
partner and one of everything (customers, invoices, memos in every status, a variant, a
QuickBooks Desktop connection), and generated ids are often swapped for those real ones so
that requests get past "not found" into the rules.

Checks: no 5xx; every answer's status, content type, headers and body as documented;
405 answers (to methods the document does not list) with an ``Allow`` header; schema-valid
requests not refused as malformed (schemathesis' ``positive_data_acceptance`` in our terms:
business-rule refusals have their own codes, and the few rules JSON Schema can't state are
listed in BEYOND_SCHEMA); and nothing stored changes when the answer is a 4xx.

The bounded run is derandomized (the same requests every time); ``make fuzz`` draws new
ones on each run, and Hypothesis prints how to reproduce a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as oa

from creditdesk.db.engine import Database
from creditdesk.web.app import create_app
from tests.api.conftest import API, apply, customer, invoice, memo, ok, snapshot, variant

FUZZING = "CREDITDESK_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("CREDITDESK_FUZZ_EXAMPLES", "12"))


def _seed(client) -> dict[str, list[str]]:
    """One of everything, through the API: the ids generated requests may name."""
    usd, eur = customer(client, "Globex"), customer(client, "Initech EU", "EUR")
    var = variant(client)
    paid = invoice(client, usd, "100.00", variant_id=var["id"])
    ok(client.post(f"{API}/invoices/{paid['id']}/payments", json={"amount": "10.00"}), 201)
    open_ = invoice(client, usd, "250.00")
    draft_inv = invoice(client, usd, "40.00", issue=False)
    eur_inv = invoice(client, eur, "80.00", currency="EUR")
    applied = memo(client, usd, "30.00")
    apply(client, applied["id"], paid["id"], "20.00")
    issued = memo(client, usd, "60.00")
    draft = memo(client, usd, "5.00", issue=False)
    void = memo(client, usd, "7.00")
    ok(client.post(f"{API}/credit-memos/{void['id']}/void", json={"reason": "typo"}))
    eur_memo = memo(client, eur, "15.00")
    qbd = ok(client.post(f"{API}/integrations", json={"provider": "quickbooks_desktop"}), 201)
    memos = [applied["id"], issued["id"], draft["id"], void["id"], eur_memo["id"]]
    invoices = [paid["id"], open_["id"], draft_inv["id"], eur_inv["id"]]
    return {"customer_id": [usd, eur], "invoice_id": invoices, "memo_id": memos,
            "credit_memo_id": memos, "variant_id": [var["id"]], "integration_id": [qbd["id"]],
            "entity_id": memos + invoices, "source_id": memos + invoices}


def _known(ids: dict[str, list[str]], name: str, generated: Any) -> st.SearchStrategy:
    """Mostly a real id of the right kind, sometimes what schemathesis generated."""
    real = ids.get(name)
    if not real:
        return st.just(generated)
    return st.one_of(st.sampled_from(real), st.sampled_from(real), st.just(generated))


def _swap(ids: dict[str, list[str]], values: Any) -> st.SearchStrategy:
    """``values`` (a dict of parameters or a body) with id-named fields maybe made real."""
    if isinstance(values, list):
        return st.tuples(*[_swap(ids, v) for v in values]).map(list) if values else st.just([])
    if not isinstance(values, dict):
        return st.just(values)
    parts = {k: (_known(ids, k, v) if isinstance(v, str) else _swap(ids, v))
             for k, v in values.items()}
    if "exceptions" in values and isinstance(values["exceptions"], list):
        parts["exceptions"] = st.one_of(st.just(values["exceptions"]),
                                        st.lists(st.sampled_from(ids["customer_id"]),
                                                 max_size=2))
    return st.fixed_dictionaries(parts)


def _document() -> dict[str, Any]:
    """The OpenAPI document as the app serves it (building it touches no database)."""
    return create_app(Database("sqlite:///" + os.devnull)).openapi()


schema = schemathesis.openapi.from_dict(_document(), config=schemathesis.Config.from_dict({
    "generation": {"max-examples": EXAMPLES},
    "phases": {"stateful": {"enabled": False}},
}))
SEEDED: dict[str, list[str]] = {}  # the running test's real ids, read as examples are drawn


@schema.hook("flatmap_path_parameters")
def _real_path_ids(_context, values):
    return _swap(SEEDED, values)


@schema.hook("flatmap_query")
def _real_query_ids(_context, values):
    return _swap(SEEDED, values)


@schema.hook("flatmap_body")
def _real_body_ids(_context, values):
    return _swap(SEEDED, values)


@pytest.fixture
def app(db: Database, client) -> Iterator[Any]:
    """The app on this test's database, seeded; its ids are what generated requests name."""
    SEEDED.clear()
    SEEDED.update(_seed(client))
    yield client.app
    SEEDED.clear()


CHECKS = [not_a_server_error, oa.status_code_conformance, oa.content_type_conformance,
          oa.response_headers_conformance, oa.response_schema_conformance,
          oa.unsupported_method]

# Refusals of schema-valid requests by rules JSON Schema can't state (field, message): each
# depends on another field or on what is stored. Any other validation_error answered to a
# request the document allows means the document is missing a constraint.
BEYOND_SCHEMA = [
    (r"cursor", r"is not a cursor this API returned"),  # opaque: only ones the API issued
    (r"amount|.*unit_price|.*price", r"decimal place"),  # digits depend on the currency
    (r".*", r"total must not exceed"),  # quantity x unit price, summed over the lines
    (r"amount", r"give either amount or lines|is required when there are no lines"),  # C1
    (r"amount", r"this memo has lines"),  # a draft with lines takes new lines, not an amount
    # C6: an invoice line must be a line of the memo's own invoice (data, not shape)
    (r"lines\[\d+\]\.invoice_line_id", r"is not a line of this memo's invoice|needs the memo"),
    (r"due_date", r"must not be before issue_date"),
    (r"paid_at", r"outside the supported range"),  # the offset moves it past year 1 or 9999
    (r"exceptions\[\d+\]|lines\[\d+\]\.variant_id", r"^no (customer|variant) with id"),
    (r"variants\[\d+\]\.sku", r"is listed twice"),  # unique by one field of the items
    (r"", r"^Sage Intacct refused "),  # the accounting system turned the credentials down
    (r"customer_id", r"can't be merged into itself"),  # Y10: the body names the path's customer
    (r"code", r"required unless the provider answered an error"),  # OAuth: code or error
    # AP1: a threshold's digits depend on its currency; one per currency; a rejection says why
    (r"thresholds\[\d+\]\.amount", r"decimal place"),
    (r"thresholds\[\d+\]\.currency", r"is listed twice"),
    (r"comment", r"is required"),
    (r"email", r"must be an email address"),  # our check of an address is JSON Schema's +
    # T1: rate or components (as C1's amount or lines); names unique per partner (stored);
    # the components' rates add up to at most 100 % and have different names
    (r"rate", r"give either rate or components|is required \(or components"),
    (r"name", r"already exists"),
    (r"components", r"must add up to at most 100|component names must differ"),
    # T1/T3: a rate of the partner's (stored); a memo line carries its invoice line's rate
    # and a linked memo prices as its invoice does
    (r"lines\[\d+\]\.tax_rate_id", r"^no tax rate with id|must be the tax rate of"),
    (r"tax_inclusive", r"as on invoice"),
    (r"to", r"must not be before from|at most ten years"),  # T4's period
    # D1, D2: an address's shape as mail servers take it (the document says "email"); the
    # customer's billing email is stored data; private hosts depend on the deployment
    (r"to|email|from_address", r"is not an email address"),
    (r"to", r"has no billing email"),
    (r"host", r"loopback or private address|must be a host name"),
    # D4: an endpoint's URL is https with a public host (http and private ones only where the
    # deployment allows them): the deployment and DNS decide, the schema gives the pattern
    (r"url", r"must start with https:// and name a host|does not resolve|is not a public "
             r"address|must not carry credentials"),
    # G5: an incident ends after it starts; the ids are the partner's (stored); a policy per
    # variant and one default; bands under the promise, each once, crediting more as they drop
    (r"ended_at", r"must be after started_at"),
    (r"customer_ids|variant_ids|policies\[\d+\]\.variant_id", r"^no (customer|variant) with id"),
    (r"policies\[\d+\]\.variant_id", r"has a policy already|only one default policy"),
    (r"policies\[\d+\]\.(availability_promised|bands\[\d+\]\.(below|credit_percent))",
     r"must be greater than 0"),
    (r"policies\[\d+\]\.bands\[\d+\]\.below", r"can't be above|repeats another"),
    (r"policies\[\d+\]\.bands", r"must credit at least as much"),
]


def _beyond_schema(error: dict[str, str]) -> bool:
    return any(re.fullmatch(f, error["field"]) and re.search(m, error["message"])
               for f, m in BEYOND_SCHEMA)


def schema_valid_requests_pass_validation(ctx, response, case) -> bool | None:
    """E7: a request the document allows is not refused as malformed (a business rule
    such as A2 may still refuse it, with its own code)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = response.json()
    if body.get("code") != "validation_error":
        return None
    unexplained = [e for e in body.get("errors", [{"field": "", "message": body["detail"]}])
                   if not _beyond_schema(e)]
    assert not unexplained, f"schema-valid request refused: {body['detail']}"
    return None


def no_state_change_after_4xx(db: Database, before: dict[str, Any]) -> Callable:
    """A check: an answer in the 4xx range left every stored row as it was (E3)."""

    def check(ctx, response, case) -> bool | None:
        if 400 <= response.status_code < 500:
            after = snapshot(db)
            changed = sorted(k for k in before if before[k] != after.get(k))
            assert not changed, (f"{case.method} {case.formatted_path} answered "
                                 f"{response.status_code} but changed {changed}")
        return None

    check.__name__ = "no_state_change_after_4xx"
    return check


@schema.parametrize()
@settings(deadline=None, database=None, derandomize=not FUZZING,
          suppress_health_check=list(HealthCheck))
def test_e7_every_answer_is_documented_and_no_4xx_changes_anything(case, db, partner, app,
                                                                    request):
    if case.operation.path == "/api/v1/integrations" and case.method == "POST":
        # Sage Intacct's credentials are checked with Intacct: the fake one, on this machine.
        app.state.integration_client = request.getfixturevalue("fake_intacct").client
    before = snapshot(db)
    headers = {"Authorization": f"Bearer {partner.api_key}"}
    case.call_and_validate(headers=headers, app=app, checks=CHECKS,
                           additional_checks=[schema_valid_requests_pass_validation,
                                              no_state_change_after_4xx(db, before)])
