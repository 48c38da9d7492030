"""The Partner Dashboard: server-rendered pages under /dashboard/ (P1, P2, E4)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from creditdesk.web.dashboard import (
    account,
    approvals,
    credit_from_invoice,
    customers,
    documents,
    incidents,
    invoices,
    memo_forms,
    memos,
    preferences,
    refunds,
    reports,
    suggestions,
    tax,
    users,
    webhooks,
)


def router() -> APIRouter:
    r = APIRouter(prefix="/dashboard", include_in_schema=False)

    @r.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/dashboard/credit-memos", status_code=303)

    for module in (reports, memo_forms, memos, documents, refunds, invoices, credit_from_invoice,
                   customers, preferences, suggestions, account, users, approvals, tax, webhooks,
                   incidents):
        r.include_router(module.router)
    return r
