"""The fake Sage Intacct's AR payments: ``create`` of an ARPYMT that applies AR adjustments'
credit to AR invoices (ARPYMTDETAIL RECORDKEY + ADJUSTMENTKEY + TRX_ADJUSTMENTAMOUNT) and the
legacy ``reverse_arpayment``, as the research describes them (issue13-intacct-qbd.md §2).

A create is checked the way Intacct documents its fields (PAYMENTMETHOD from the documented
list, RECEIPTDATE mm/dd/yyyy, CURRENCY, one of FINANCIALENTITY / UNDEPOSITEDACCOUNTNO /
PRBATCH) and the way its books must stay right (the invoice and the credit memo exist, are
posted, belong to the payment's customer and currency; the amount is at most the memo's
remaining credit and the invoice's balance due; the receipt date is in an open period). The
refusals' wording and error numbers are not known from any source [U]: they follow the
shape of Intacct's errors (errorno, description2, correction).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from creditdesk_devtools.fakes.intacct_state import Company, FakeIntacctState, amount

METHODS = {"Printed Check", "Cash", "EFT", "Credit Card", "Online Charge Card",
           "Online ACH Debit"}
ACCOUNTS = ("FINANCIALENTITY", "UNDEPOSITEDACCOUNTNO", "PRBATCH")
REFUSED = "BL01001973"  # [U] one errorno for every business refusal here
NOT_POSTED = {"draft", "reversed", "reversal", "voided"}
ErrorTuple = tuple[str, str, str, str]


class Refusal(Exception):
    def __init__(self, description2: str, correction: str = "") -> None:
        super().__init__(description2)
        self.error: ErrorTuple = (REFUSED, "", description2, correction)


def _day(text: str, what: str) -> date:
    try:
        return datetime.strptime(text, "%m/%d/%Y").date()
    except ValueError:
        raise Refusal(f"{what} {text!r} is not a valid date", "Use the mm/dd/yyyy format") from None


def _open(company: Company, on: date) -> None:
    if company.closed_through and on <= company.closed_through:
        raise Refusal(f"The period for {on.strftime('%m/%d/%Y')} is closed",
                      "Choose a date in an open period, or reopen the period")


def create_payment(state: FakeIntacctState, company_id: str, obj: ET.Element) -> str:
    """Make the ARPYMT ``obj`` describes; its RECORDNO. Refusal: nothing changed."""
    header = {c.tag.upper(): (c.text or "").strip() for c in obj if len(c) == 0}
    details = [{c.tag.upper(): (c.text or "").strip() for c in d}
               for d in obj.findall("ARPYMTDETAILS/ARPYMTDETAIL")]
    with state.lock:
        company = state.companies[company_id]
        if header.get("PAYMENTMETHOD") not in METHODS:
            raise Refusal(f"Invalid PAYMENTMETHOD {header.get('PAYMENTMETHOD', '')!r}",
                          "Use one of " + ", ".join(sorted(METHODS)))
        received = _day(header.get("RECEIPTDATE", ""), "RECEIPTDATE")
        if not header.get("CURRENCY"):
            raise Refusal("Required field CURRENCY is missing")
        if not any(header.get(k) for k in ACCOUNTS):
            raise Refusal("A bank account, an undeposited funds account or a summary is "
                          "required", "Provide FINANCIALENTITY, UNDEPOSITEDACCOUNTNO or PRBATCH")
        customer = header.get("CUSTOMERID", "")
        if not details:
            raise Refusal("At least one ARPYMTDETAIL is required")
        _open(company, received)
        moves = [_check(company, customer, header["CURRENCY"], d) for d in details]
        taken: dict[tuple[str, str], Decimal] = {}
        for invoice, memo, value in moves:  # several details may draw on one record
            for key, limit in (((invoice["RECORDNO"], "i"), Decimal(invoice["TRX_TOTALDUE"])),
                               ((memo["RECORDNO"], "m"), -Decimal(memo["TRX_TOTALDUE"]))):
                taken[key] = taken.get(key, Decimal(0)) + value
                if taken[key] > limit:
                    raise Refusal(*_too_much(invoice, memo, value, key[1]))
        company.next_no += 1
        no = str(company.next_no)
        first = moves[0][0]
        company.payments[no] = {
            "RECORDNO": no, "CUSTOMERID": customer, "CUSTOMERNAME": first["CUSTOMERNAME"],
            "PAYMENTMETHOD": header["PAYMENTMETHOD"], "DOCNUMBER": header.get("DOCNUMBER", ""),
            "DESCRIPTION": header.get("DESCRIPTION", ""),
            "RECEIPTDATE": received.strftime("%m/%d/%Y"), "STATE": "Complete",  # [U]
            **{k: header[k] for k in ACCOUNTS if header.get(k)},
            "CURRENCY": header["CURRENCY"], "BASECURR": first["BASECURR"],
            "TOTALENTERED": "0", "TRX_TOTALENTERED": "0",  # no cash moved
            "WHENCREATED": received.strftime("%m/%d/%Y")}
        state.touch(company.payments[no])
        company.payment_details[no] = []
        for invoice, memo, value in moves:
            company.next_line_no += 1
            company.payment_details[no].append({
                "RECORDNO": str(company.next_line_no), "PAYMENTKEY": no,
                "RECORDKEY": invoice["RECORDNO"], "ADJUSTMENTKEY": memo["RECORDNO"],
                "TRX_ADJUSTMENTAMOUNT": amount(value), "ADJUSTMENTAMOUNT": amount(value),
                "PAYMENTDATE": received.strftime("%m/%d/%Y"), "STATE": "Complete"})
            state.move_due(invoice, -value)
            state.move_due(memo, value)  # a credit memo's TOTALDUE is negative: towards 0
        return no


def _check(company: Company, customer: str, currency: str,
           detail: dict[str, str]) -> tuple[dict[str, str], dict[str, str], Decimal]:
    invoice = company.invoices.get(detail.get("RECORDKEY", ""))
    memo = company.adjustments.get(detail.get("ADJUSTMENTKEY", ""))
    if invoice is None or invoice["STATE"].lower() in NOT_POSTED:
        raise Refusal(f"Invalid RECORDKEY {detail.get('RECORDKEY', '')!r}: no posted AR "
                      "invoice has this record number")
    if (memo is None or memo["STATE"].lower() in NOT_POSTED
            or Decimal(memo["TRX_TOTALENTERED"]) >= 0):
        raise Refusal(f"Invalid ADJUSTMENTKEY {detail.get('ADJUSTMENTKEY', '')!r}: no posted "
                      "credit memo has this record number")
    for record, what in ((invoice, f"Invoice {invoice['RECORDID']}"),
                         (memo, f"Credit memo {memo['RECORDID']}")):
        if record["CUSTOMERID"] != customer:
            raise Refusal(f"{what} belongs to customer {record['CUSTOMERID']}, not to "
                          f"customer {customer}")
        if record["CURRENCY"] != currency:
            raise Refusal(f"{what} is in {record['CURRENCY']}, not in {currency}")
    try:
        value = Decimal(detail.get("TRX_ADJUSTMENTAMOUNT", ""))
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise Refusal(f"Invalid TRX_ADJUSTMENTAMOUNT {detail.get('TRX_ADJUSTMENTAMOUNT')!r}",
                      "Provide a positive amount")
    return invoice, memo, round(value, 2)  # Intacct rounds amounts to 2 decimals


def _too_much(invoice: dict[str, str], memo: dict[str, str], value: Decimal,
              which: str) -> tuple[str, str]:
    if which == "i":
        return (f"The amount to apply, {amount(value)}, is more than the amount due on invoice "
                f"{invoice['RECORDID']} ({amount(Decimal(invoice['TRX_TOTALDUE']))})",
                "Reduce the amount")
    return (f"The amount to apply, {amount(value)}, is more than the credit available on "
            f"credit memo {memo['RECORDID']} ({amount(-Decimal(memo['TRX_TOTALDUE']))})",
            "Reduce the amount")


def reverse_payment(state: FakeIntacctState, company_id: str, function: ET.Element) -> str:
    """``reverse_arpayment key="n"``: the payment turns Reversed and every invoice and credit
    memo it touched gets its balance back. Refusal: nothing changed."""
    key = (function.get("key") or "").strip()
    block = function.find("datereversed")
    parts = [(block.findtext(t) or "").strip() if block is not None else ""
             for t in ("month", "day", "year")]
    with state.lock:
        company = state.companies[company_id]
        row = company.payments.get(key)
        if row is None:
            raise Refusal(f"Invalid key {key!r}: no AR payment has this record number")
        if row["STATE"] == "Reversed":
            raise Refusal(f"AR payment {key} is already reversed")
        on = _day("/".join(parts), "datereversed")
        _open(company, on)
        for detail in company.payment_details.get(key, []):
            value = Decimal(detail["TRX_ADJUSTMENTAMOUNT"])
            invoice = company.invoices.get(detail["RECORDKEY"])
            memo = company.adjustments.get(detail["ADJUSTMENTKEY"])
            if invoice is not None:
                state.move_due(invoice, value)
            if memo is not None:
                state.move_due(memo, -value)
            detail["STATE"] = "Reversed"
        row.update(STATE="Reversed", WHENREVERSED=on.strftime("%m/%d/%Y"))
        state.touch(row)
        return key
