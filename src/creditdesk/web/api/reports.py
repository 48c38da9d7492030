"""Journal entries, the trial balance and the audit trail."""

from __future__ import annotations

from typing import Annotated

from creditdesk.domain import currencies, errors, money
from creditdesk.services.accounting import ledger
from creditdesk.services.common.pagination import Page
from creditdesk.services.read_models import audit_trail
from creditdesk.web.api import responses
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["accounting"], route_class=DecimalJSONRoute)

SOURCE_TYPES = ("invoice", "payment", "credit_memo", "refund")
CURRENCIES = sorted(currencies.MINOR_DIGITS)


@router.get("/journal-entries", response_model=responses.JournalEntryPage)
def list_journal_entries(db: DB, actor: CurrentActor,
                         source_type: Annotated[str | None, filter_query(values=SOURCE_TYPES)]
                         = None, source_id: Filter = None, limit: Limit = 50,
                         cursor: Cursor = None) -> Page[ledger.JournalEntryView]:
    if source_type is not None and source_type not in SOURCE_TYPES:
        raise errors.ValidationError.for_field("source_type",
                                               f"must be one of: {', '.join(SOURCE_TYPES)}")
    return ledger.list_entries(db, actor=actor, source_type=source_type, source_id=source_id,
                               limit=limit, cursor=cursor)


@router.get("/reports/trial-balance", response_model=responses.TrialBalanceOut)
def trial_balance(db: DB, actor: CurrentActor,
                  currency: Annotated[str, filter_query(values=CURRENCIES)] = "USD",
                  ) -> ledger.TrialBalance:
    try:
        money.check_currency(currency)
    except money.MoneyError as exc:
        raise errors.ValidationError.for_field("currency", str(exc)) from None
    return ledger.trial_balance(db, actor=actor, currency=currency)


@router.get("/audit-events", response_model=responses.AuditEventPage)
def list_audit_events(db: DB, actor: CurrentActor, entity_type: Filter = None,
                      entity_id: Filter = None, limit: Limit = 50,
                      cursor: Cursor = None) -> Page[audit_trail.AuditEventView]:
    return audit_trail.list_events(db, actor=actor, entity_type=entity_type, entity_id=entity_id,
                                   limit=limit, cursor=cursor)
