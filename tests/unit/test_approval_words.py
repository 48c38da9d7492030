"""AP1 and users' API keys in the audit trail's words (E1)."""

from __future__ import annotations

from creditdesk.services.read_models.audit_words import describe


def test_ap1_requests_and_decisions_in_words():
    base = {"number": "CM-0001", "total": "1500.00", "currency": "USD"}
    assert describe("approval_request.create", {**base, "comment": "big"}) == (
        "Asked for approval to issue it for $1,500.00: “big”")
    assert describe("approval_request.approve", {**base, "requested_by": "user:ann@x.test"}) == (
        "Approved issuing it for $1,500.00 (asked by ann@x.test)")
    assert describe("approval_request.reject", {**base, "requested_by": "api_key:cdk_ab…",
                                                "comment": "too much"}) == (
        "Rejected issuing it for $1,500.00 (asked by an API key): “too much”")
    assert describe("approval_request.withdraw", {"was": "approved"}) == (
        "The draft was edited: its approved approval request was withdrawn")


def test_ap1_thresholds_in_words():
    assert describe("settings.approvals", {"from": {}, "to": {"USD": "1000.00",
                                                              "JPY": "50000"}}) == (
        "Set the approval thresholds: ¥50,000, $1,000.00")
    assert describe("settings.approvals", {"from": {"USD": "1.00"}, "to": {}}).startswith(
        "Removed every approval threshold")


def test_a_user_s_api_key_in_words():
    assert describe("api_key.create", {"prefix": "cdk_abcd", "user": "sam@x.test"}) == (
        "Created an API key (cdk_abcd…) acting as sam@x.test")
