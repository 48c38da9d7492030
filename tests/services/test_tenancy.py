"""P4: every use case is scoped by partner; another partner's id is a missing id."""

from __future__ import annotations

import pytest

from creditdesk.domain import errors
from creditdesk.services.accounting import ledger
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.customer_accounts import customers
from creditdesk.services.invoicing import catalog, invoices
from creditdesk.services.read_models import audit_trail
from tests import factories as f


@pytest.fixture
def mine(db, actor):
    """The first partner's data in every state an operation might want."""
    cus = f.customer(db, actor)
    var = f.variant(db, actor)
    inv = f.invoice(db, actor, cus, "100.00", variant_id=var)
    draft_inv = f.invoice(db, actor, cus, "10.00", issue=False)
    draft = f.memo(db, actor, cus, "5.00", issue=False)
    issued = f.memo(db, actor, cus, "50.00")
    applied = f.memo(db, actor, cus, "20.00")
    credit.apply_credit(db, actor=actor, memo_id=applied, invoice_id=inv, amount="10.00")
    return {"customer": cus, "variant": var, "invoice": inv, "draft_invoice": draft_inv,
            "draft": draft, "issued": issued, "applied": applied}


def _foreign_calls(db, them, ids, own_cus, own_memo, own_inv):
    """Each call names at least one of the first partner's ids."""
    return {
        "get_memo": lambda: memos.get_memo(db, actor=them, memo_id=ids["issued"]),
        "update_memo": lambda: memos.update_memo(db, actor=them, memo_id=ids["draft"],
                                                 changes={"notes": "mine now"}),
        "delete_memo": lambda: memos.delete_memo(db, actor=them, memo_id=ids["draft"]),
        "issue_memo": lambda: memo_lifecycle.issue_memo(db, actor=them, memo_id=ids["draft"]),
        "void_memo": lambda: memo_lifecycle.void_memo(db, actor=them, memo_id=ids["issued"],
                                                      reason="x"),
        "apply_both_foreign": lambda: credit.apply_credit(
            db, actor=them, memo_id=ids["issued"], invoice_id=ids["invoice"], amount="1.00"),
        "apply_foreign_invoice": lambda: credit.apply_credit(
            db, actor=them, memo_id=own_memo, invoice_id=ids["invoice"], amount="1.00"),
        "apply_foreign_memo": lambda: credit.apply_credit(
            db, actor=them, memo_id=ids["issued"], invoice_id=own_inv, amount="1.00"),
        "remove_credit": lambda: credit.remove_credit(
            db, actor=them, memo_id=ids["applied"], invoice_id=ids["invoice"]),
        "list_applications": lambda: credit.list_applications(db, actor=them,
                                                              memo_id=ids["applied"]),
        "create_memo_for_customer": lambda: memos.create_memo(
            db, actor=them, customer_id=ids["customer"], reason="other", amount="1.00"),
        "create_memo_linked": lambda: memos.create_memo(
            db, actor=them, customer_id=own_cus, reason="other", amount="1.00",
            invoice_id=ids["invoice"]),
        "create_from_invoice": lambda: memos.create_from_invoice(
            db, actor=them, invoice_id=ids["invoice"], reason="other"),
        "get_invoice": lambda: invoices.get_invoice(db, actor=them, invoice_id=ids["invoice"]),
        "create_invoice": lambda: invoices.create_invoice(
            db, actor=them, customer_id=ids["customer"],
            lines=[{"description": "x", "quantity": 1, "unit_price": "1.00"}]),
        "issue_invoice": lambda: invoices.issue_invoice(db, actor=them,
                                                        invoice_id=ids["draft_invoice"]),
        "void_invoice": lambda: invoices.void_invoice(db, actor=them,
                                                      invoice_id=ids["draft_invoice"]),
        "record_payment": lambda: invoices.record_payment(
            db, actor=them, invoice_id=ids["invoice"], amount="1.00"),
        "get_customer": lambda: customers.get_customer(db, actor=them,
                                                       customer_id=ids["customer"]),
        "credit_summary": lambda: customers.credit_summary(db, actor=them,
                                                           customer_id=ids["customer"]),
        "get_variant": lambda: catalog.get_variant(db, actor=them, variant_id=ids["variant"]),
    }


CALLS = ["get_memo", "update_memo", "delete_memo", "issue_memo", "void_memo",
         "apply_both_foreign", "apply_foreign_invoice", "apply_foreign_memo", "remove_credit",
         "list_applications", "create_memo_for_customer", "create_memo_linked",
         "create_from_invoice", "get_invoice", "create_invoice", "issue_invoice",
         "void_invoice", "record_payment", "get_customer", "credit_summary", "get_variant"]


@pytest.mark.parametrize("call", CALLS)
def test_p4_another_partners_id_is_not_found_and_nothing_changes(db, actor, other_actor, mine,
                                                                 call):
    own_cus = f.customer(db, other_actor, "Their customer")
    own_memo = f.memo(db, other_actor, own_cus, "30.00")
    own_inv = f.invoice(db, other_actor, own_cus, "30.00")
    before, before_them = f.snapshot(db, actor), f.snapshot(db, other_actor)
    calls = _foreign_calls(db, other_actor, mine, own_cus, own_memo, own_inv)
    assert set(calls) == set(CALLS)
    with pytest.raises(errors.NotFound) as exc:
        calls[call]()
    assert exc.value.code == "not_found"
    assert f.snapshot(db, actor) == before
    assert f.snapshot(db, other_actor) == before_them


def test_p4_foreign_id_is_answered_like_a_missing_one(db, actor, other_actor, mine):
    with pytest.raises(errors.NotFound) as foreign:
        memos.get_memo(db, actor=other_actor, memo_id=mine["issued"])
    with pytest.raises(errors.NotFound) as missing:
        memos.get_memo(db, actor=other_actor, memo_id="cm_01missing")
    assert foreign.value.detail.replace(mine["issued"], "ID") == (
        missing.value.detail.replace("cm_01missing", "ID"))


def test_p4_another_partners_variant_cannot_be_put_on_a_line(db, actor, other_actor, mine):
    cus = f.customer(db, other_actor)
    line = {"description": "x", "quantity": 1, "unit_price": "1.00",
            "variant_id": mine["variant"]}
    with pytest.raises(errors.ValidationError, match="no variant"):
        memos.create_memo(db, actor=other_actor, customer_id=cus, reason="other", lines=[line])
    with pytest.raises(errors.ValidationError, match="no variant"):
        invoices.create_invoice(db, actor=other_actor, customer_id=cus, lines=[line])
    assert memos.list_memos(db, actor=other_actor).data == []


def test_p4_lists_and_reports_show_only_the_partners_own_data(db, actor, other_actor, mine):
    them = other_actor
    assert memos.list_memos(db, actor=them).data == []
    assert memos.list_memos(db, actor=them, customer_id=mine["customer"]).data == []
    assert memos.list_memos(db, actor=them, q="CM-").data == []
    assert invoices.list_invoices(db, actor=them).data == []
    assert customers.list_customers(db, actor=them).data == []
    assert ledger.list_entries(db, actor=them).data == []
    assert ledger.list_entries(db, actor=them, source_id=mine["issued"]).data == []
    assert ledger.list_activities(db, actor=them).data == []
    assert all(e.action == "partner.create" for e in audit_trail.list_events(db, actor=them).data)
    tb = ledger.trial_balance(db, actor=them)
    assert tb.total_debit.minor == tb.total_credit.minor == 0
    # while the owner sees everything
    assert len(memos.list_memos(db, actor=actor).data) == 3
    assert ledger.trial_balance(db, actor=actor).total_debit.minor > 0
