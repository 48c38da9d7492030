"""E1 on the pages: an audit entry says what changed (amount, invoice, reason) in words."""

from __future__ import annotations

from creditdesk.services.read_models.audit_words import describe


def test_memo_entries_name_amounts_invoices_and_reasons() -> None:
    assert describe("credit_memo.create", {"number": "CM-0017", "total": "3390.00",
                                           "currency": "USD", "reason": "returned_goods",
                                           "invoice_number": "INV-0004"}) == (
        "Created CM-0017 for $3,390.00, reason Returned goods, from invoice INV-0004")
    assert describe("credit_memo.apply", {"amount": "150.00", "currency": "USD",
                                          "invoice_number": "INV-0002"}) == (
        "Applied $150.00 to invoice INV-0002")
    assert describe("credit_memo.remove", {"amount": "150.00", "invoice_number": "INV-0002"},
                    "EUR") == "Removed €150.00 from invoice INV-0002"
    assert describe("credit_memo.issue", {"total": "10.00", "currency": "CAD"}) == (
        "Issued for CA$10.00")
    assert describe("credit_memo.void", {"reason": "entered twice", "was": "issued"}) == (
        "Voided (it was issued): “entered twice”")


def test_an_update_says_each_change_from_and_to() -> None:
    text = describe("credit_memo.update", {"currency": "USD", "changes": {
        "total": ["10.00", "12.50"], "reason": ["goodwill", "pricing_error"],
        "invoice": [None, "INV-0003"], "notes": ["a", "b"]}})
    assert text == ("Changed the total from $10.00 to $12.50; the reason from Goodwill to "
                    "Pricing error; the original invoice from none to INV-0003; edited the notes")
    # entries written before changes were recorded still read as words
    assert describe("credit_memo.update", {"fields": ["amount"], "total": "5.00"}, "USD") == (
        "Changed amount (total $5.00)")


def test_other_entries_fall_back_to_their_facts() -> None:
    assert describe("invoice.payment", {"amount": "5.00", "invoice_id": "inv_1"}) == (
        "Payment (amount 5.00)")


def test_y11_write_back_entries_say_what_went_to_the_system_and_what_it_said() -> None:
    sent = describe("credit_memo.apply_requested",
                    {"amount": "30.00", "currency": "USD", "invoice_number": "INV-0007",
                     "system": "xero", "origin": "portal"})
    assert sent == "Sent $30.00 to invoice INV-0007 to Xero (by the customer, in the portal)"
    assert describe("credit_memo.write_back_failed",
                    {"system": "quickbooks_online", "action": "apply",
                     "error": "The account period has closed."}) == (
        "QuickBooks Online did not take the application: “The account period has closed.”")
    assert describe("credit_memo.remove_requested",
                    {"system": "xero", "currency": "USD", "removing": "10.00",
                     "cancelled": "0.00", "invoice_number": "INV-1"}) == (
        "Asked Xero to remove $10.00 from invoice INV-1")
    assert describe("credit_memo.sync_application", {"system": "xero", "amount_minor": 1500},
                    "USD") == "Applied $15.00 in Xero directly (found by a sync)"
    assert describe("invoice.sync_create", {"source": "sage_intacct", "status": "open"}) == (
        "Synced from Sage Intacct as open")


def test_t1_tax_entries_in_words() -> None:
    assert describe("tax_rate.create", {"name": "NYC", "rate": "8.875",
                                        "components": ["State", "City"]}) == (
        "Added tax rate NYC (8.875 %) of State + City")
    text = describe("credit_memo.update", {"currency": "USD", "changes": {
        "tax": ["0.00", "7.25"], "tax_inclusive": [False, True]}})
    assert text == "Changed the tax from $0.00 to $7.25; made prices include tax"


def test_g5_incident_and_sla_entries_say_what_was_recorded() -> None:
    assert describe("incident.create", {
        "description": "DB failover", "started_at": "2026-03-03T10:00:00+00:00",
        "ended_at": "2026-03-03T12:00:00+00:00", "customer_ids": ["a", "b"],
        "variant_ids": []}) == ("Recorded incident “DB failover” from 2026-03-03T10:00:00+00:00 "
                                "to 2026-03-03T12:00:00+00:00 (2 customers, every product)")
    assert describe("settings.sla", {"from": [], "to": [
        {"variant_id": None, "availability_promised": "99.9",
         "bands": [{"below": "99.9", "credit_percent": "10"}]}]}) == (
        "Set the SLA policies: default 99.9 % (below 99.9 % → 10 %)")
    assert describe("settings.sla", {"from": [], "to": []}).startswith("Removed every SLA")
