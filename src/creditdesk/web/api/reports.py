"""Journal entries, the trial balance and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from creditdesk.domain import currencies, errors, money
from creditdesk.services.accounting import ledger
from creditdesk.services.read_models import audit_trail
from creditdesk.web.api import present, responses
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute

router = APIRouter(tags=["accounting"], route_class=DecimalJSONRoute)

SOURCE_TYPES = ("invoice", "payment", "credit_memo")
CURRENCIES = sorted(currencies.MINOR_DIGITS)


@router.get("/journal-entries", response_model=responses.JournalEntryPage)
def list_journal_entries(db: DB, actor: CurrentActor,
                         source_type: Annotated[str | None, filter_query(values=SOURCE_TYPES)]
                         = None, source_id: Filter = None, limit: Limit = 50,
                         cursor: Cursor = None) -> dict[str, Any]:
    if source_type is not None and source_type not in SOURCE_TYPES:
        raise errors.ValidationError.for_field("source_type",
                                               f"must be one of: {', '.join(SOURCE_TYPES)}")
    page = ledger.list_entries(db, actor=actor, source_type=source_type, source_id=source_id,
                               limit=limit, cursor=cursor)
    return present.page_out(page, lambda e: {
        "id": e.id, "date": e.date, "description": e.description, "source_type": e.source_type,
        "source_id": e.source_id, "currency": e.currency,
        "lines": [{"account_code": li.account_code, "account_name": li.account_name,
                   "debit": li.debit.to_str(), "credit": li.credit.to_str()} for li in e.lines]})


@router.get("/reports/trial-balance", response_model=responses.TrialBalanceOut)
def trial_balance(db: DB, actor: CurrentActor,
                  currency: Annotated[str, filter_query(values=CURRENCIES)] = "USD",
                  ) -> dict[str, Any]:
    try:
        money.check_currency(currency)
    except money.MoneyError as exc:
        raise errors.ValidationError.for_field("currency", str(exc)) from None
    tb = ledger.trial_balance(db, actor=actor, currency=currency)
    return {"currency": tb.currency,
            "accounts": [{"code": a.code, "name": a.name, "debit": a.debit.to_str(),
                          "credit": a.credit.to_str(), "balance": a.balance.to_str()}
                         for a in tb.accounts],
            "total_debit": tb.total_debit.to_str(), "total_credit": tb.total_credit.to_str()}


@router.get("/audit-events", response_model=responses.AuditEventPage)
def list_audit_events(db: DB, actor: CurrentActor, entity_type: Filter = None,
                      entity_id: Filter = None, limit: Limit = 50,
                      cursor: Cursor = None) -> dict[str, Any]:
    page = audit_trail.list_events(db, actor=actor, entity_type=entity_type, entity_id=entity_id,
                             limit=limit, cursor=cursor)
    return present.page_out(page, lambda e: {
        "id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
        "entity_type": e.entity_type, "entity_id": e.entity_id, "data": e.data})
