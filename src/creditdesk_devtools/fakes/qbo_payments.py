"""The fake QuickBooks Online's Payments: credit memos applied to invoices as QuickBooks does
it, a $0 Payment with one line linking the Invoice and one the CreditMemo (docs/research/
issue13-qbo-xero.md, QBO section 3), and their deletion, which gives the balances back.

Refusals are Fault envelopes with HTTP 400. Their words are composed: QuickBooks' own text
for an amount over a balance is not known [U]; "Business Validation Error: …" with code 6000
is [S] (node-quickbooks #48), the closed period's "Account Period Closed" / "The account
period has closed." [S] (python-quickbooks #208), "Stale Object Error" code 5010 [U].
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from creditdesk_devtools.fakes.qbo_state import Company, FakeQboState, money, stamp

Answer = tuple[int, dict[str, Any]]
LINKABLE = {"Invoice": "invoices", "CreditMemo": "memos"}


def _fault(message: str, detail: str, code: str, state: FakeQboState) -> Answer:
    return 400, {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code,
                                      "element": ""}], "type": "ValidationFault"},
                 "time": stamp(state.now())}


def _business(detail: str, state: FakeQboState) -> Answer:
    return _fault("A business validation error has occurred while processing your request",
                  f"Business Validation Error: {detail}", "6000", state)


def _amount(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def _closed(company: Company, txn_date: str) -> bool:
    return company.closed_through is not None and txn_date <= company.closed_through


def _links(company: Company, body: dict[str, Any], state: FakeQboState
           ) -> tuple[list[tuple[str, dict[str, Any], Decimal]], Answer | None]:
    """The payment's lines as (TxnType, linked record, amount), or the refusal."""
    lines = body.get("Line")
    if not isinstance(lines, list) or not lines:
        return [], _fault("Required param missing, need to supply the required value for "
                          "the API", "Required parameter Line is missing in the request",
                          "2020", state)
    out = []
    for n, line in enumerate(lines, start=1):
        linked = line.get("LinkedTxn") if isinstance(line, dict) else None
        amount = _amount(line.get("Amount")) if isinstance(line, dict) else None
        if not isinstance(linked, list) or len(linked) != 1 or not isinstance(linked[0], dict):
            return [], _business(f"Line {n} must link one transaction", state)
        kind, txn_id = linked[0].get("TxnType"), str(linked[0].get("TxnId"))
        record = getattr(company, LINKABLE[kind]).get(txn_id) if kind in LINKABLE else None
        if record is None:
            return [], _fault("Invalid Reference Id", f"Invalid Reference Id : {kind} "
                              f"{txn_id} assigned is not present", "2500", state)
        if amount is None or amount <= 0:
            return [], _business(f"Line {n} needs a positive Amount", state)
        out.append((str(kind), record, amount))
    return out, None


def _balance(kind: str, record: dict[str, Any]) -> Decimal:
    return Decimal(str(record["RemainingCredit" if kind == "CreditMemo" else "Balance"]))


def _move(state: FakeQboState, realm_id: str, kind: str, record: dict[str, Any],
          change: Decimal) -> None:
    """A memo's remaining credit or an invoice's balance moved by ``change``."""
    left = money(_balance(kind, record) + change)
    if kind == "CreditMemo":
        record["RemainingCredit"] = record["Balance"] = left
    else:
        record["Balance"] = left
    state.touch(realm_id, record)


def create(state: FakeQboState, realm_id: str, text: bytes, request_id: str | None
           ) -> tuple[int, bytes]:
    """``POST /payment``: the answer, as the first one when ``request_id`` was seen."""
    with state.lock:
        company = state.companies[realm_id]
        if request_id and request_id in company.answers:
            return company.answers[request_id]
        status, body = _create(state, company, text)
        answer = status, json.dumps(body).encode()
        if request_id:
            company.answers[request_id] = answer
        return answer


def _create(state: FakeQboState, company: Company, text: bytes) -> Answer:
    try:
        body = json.loads(text, parse_float=Decimal)
    except ValueError:
        return _fault("Request has invalid or unsupported property", "The body is not JSON",
                      "2010", state)
    if not isinstance(body, dict):
        return _fault("Request has invalid or unsupported property", "A Payment object is "
                      "expected", "2010", state)
    if company.refusal:
        return _fault(*company.refusal, state)
    customer = (body.get("CustomerRef") or {}).get("value")
    if not customer:
        return _fault("Required param missing, need to supply the required value for the API",
                      "Required parameter CustomerRef is missing in the request", "2020", state)
    txn_date = str(body.get("TxnDate") or state.now().date().isoformat())
    if _closed(company, txn_date):
        return _fault("Account Period Closed", "The account period has closed.", "6210", state)
    links, refused = _links(company, body, state)
    if refused:
        return refused
    currency = (body.get("CurrencyRef") or {}).get("value") or "USD"
    total = sum((a if k == "Invoice" else -a for k, _, a in links), Decimal(0))
    if _amount(body.get("TotalAmt", 0)) != total:
        return _business("The payment amount must equal the amounts applied to invoices "
                         "less the credits applied", state)
    for kind, record, amount in links:
        if record["CustomerRef"]["value"] != customer:
            return _business(f"{kind} {record['Id']} belongs to another customer", state)
        if record["CurrencyRef"]["value"] != currency:
            return _business(f"{kind} {record['Id']} is in another currency", state)
        if amount > _balance(kind, record):
            what = "open balance" if kind == "Invoice" else "remaining credit"
            return _business(f"The amount applied to {kind} {record['Id']} "
                             f"({amount}) is more than its {what} "
                             f"({_balance(kind, record)})", state)
    company.next_id += 1
    payment_id = str(company.next_id)
    now = state.now()
    name = links[0][1]["CustomerRef"].get("name", "")
    payment = {
        "Id": payment_id, "SyncToken": "0", "domain": "QBO", "sparse": False,
        "MetaData": {"CreateTime": stamp(now), "LastUpdatedTime": stamp(now)},
        "TxnDate": txn_date, "CurrencyRef": {"value": currency, "name": currency},
        "CustomerRef": {"value": customer, "name": name},
        "TotalAmt": money(total), "UnappliedAmt": 0, "ProcessPayment": False,
        "Line": [{"Amount": money(a), "LinkedTxn": [{"TxnId": r["Id"], "TxnType": k}]}
                 for k, r, a in links]}
    if body.get("PrivateNote"):
        payment["PrivateNote"] = str(body["PrivateNote"])
    company.payments[payment_id] = payment
    company.version += 1
    for kind, record, amount in links:
        if kind == "Invoice":
            record.setdefault("LinkedTxn", []).append({"TxnId": payment_id,
                                                        "TxnType": "Payment"})
        _move(state, company.realm_id, kind, record, -amount)
    return 200, {"Payment": payment, "time": stamp(state.now())}


def delete(state: FakeQboState, realm_id: str, text: bytes) -> tuple[int, bytes]:
    """``POST /payment?operation=delete`` of ``{Id, SyncToken}``: balances given back."""
    with state.lock:
        status, body = _delete(state, state.companies[realm_id], text)
        return status, json.dumps(body).encode()


def _delete(state: FakeQboState, company: Company, text: bytes) -> Answer:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("Id"):
        return _fault("Required param missing, need to supply the required value for the API",
                      "Required parameter Id is missing in the request", "2020", state)
    payment = company.payments.get(str(body["Id"]))
    if payment is None:
        return _fault("Object Not Found", "Object Not Found : Another user has deleted this "
                      "transaction.", "610", state)
    if company.refusal:
        return _fault(*company.refusal, state)
    if str(body.get("SyncToken")) != payment["SyncToken"]:
        return _fault("Stale Object Error", "Stale Object Error : You and another user were "
                      "working on the same thing.", "5010", state)
    if _closed(company, payment["TxnDate"]):
        return _fault("Account Period Closed", "The account period has closed.", "6210", state)
    remove(state, company.realm_id, payment["Id"])
    return 200, {"Payment": {"status": "Deleted", "domain": "QBO", "Id": payment["Id"]},
                 "time": stamp(state.now())}


def remove(state: FakeQboState, realm_id: str, payment_id: str) -> None:
    """The Payment deleted (by the API or in QuickBooks): each linked memo's credit and
    invoice's balance given back, the invoice's link to it dropped."""
    with state.lock:
        company = state.companies[realm_id]
        payment = company.payments[payment_id]
        state.delete(realm_id, "Payment", payment_id)
        for line in payment["Line"]:
            link = line["LinkedTxn"][0]
            record = getattr(company, LINKABLE[link["TxnType"]]).get(link["TxnId"])
            if record is None:
                continue
            if link["TxnType"] == "Invoice":
                record["LinkedTxn"] = [t for t in record.get("LinkedTxn", [])
                                       if t.get("TxnId") != payment_id]
            _move(state, realm_id, link["TxnType"], record, Decimal(str(line["Amount"])))
