"""Approvals (AP1): the thresholds per currency, and approval requests of draft memos."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from creditdesk.domain import approval as rules
from creditdesk.services.common.pagination import Page
from creditdesk.services.credit_memos import approvals
from creditdesk.services.read_models import views
from creditdesk.web.api import fields, responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["approvals"], route_class=DecimalJSONRoute)
FORBIDDEN = {403: {}}


class ThresholdIn(schemas.In):
    currency: fields.Currency
    amount: fields.Amount


class ApprovalSettingsIn(schemas.In):
    thresholds: list[ThresholdIn] = Field(max_length=rules.MAX_THRESHOLDS)


class ThresholdOut(BaseModel):
    currency: str
    amount: responses.Money


class ApprovalSettingsOut(BaseModel):
    thresholds: list[ThresholdOut]


class CommentIn(schemas.In):
    comment: str | None = fields.text(rules.MAX_COMMENT, blank=True, default=None)


class ApprovalPage(responses.Page[responses.ApprovalOut]):
    pass


def _settings_out(s: approvals.Settings) -> dict[str, Any]:
    return {"thresholds": [{"currency": t.currency, "amount": t.amount} for t in s.thresholds]}


@router.get("/settings/approvals", response_model=ApprovalSettingsOut)
def get_settings(db: DB, actor: CurrentActor) -> dict[str, Any]:
    return _settings_out(approvals.get_settings(db, actor=actor))


@router.put("/settings/approvals", response_model=ApprovalSettingsOut, responses=FORBIDDEN)
def put_settings(body: ApprovalSettingsIn, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return _settings_out(approvals.replace_settings(
        db, actor=actor, thresholds=[t.model_dump() for t in body.thresholds]))


@router.post("/credit-memos/{memo_id}/approval-requests", status_code=201,
             response_model=responses.ApprovalOut)
def request_approval(memo_id: str, db: DB, actor: CurrentActor,
                     body: CommentIn | None = None) -> views.ApprovalView:
    return approvals.request_approval(db, actor=actor, memo_id=memo_id,
                                      comment=body.comment if body else None)


@router.get("/credit-memos/{memo_id}/approval-requests", response_model=ApprovalPage)
def list_requests(memo_id: str, db: DB, actor: CurrentActor) -> Page[views.ApprovalView]:
    return Page(approvals.list_for_memo(db, actor=actor, memo_id=memo_id), None)


@router.post("/approval-requests/{request_id}/approve", response_model=responses.ApprovalOut,
             responses=FORBIDDEN)
def approve(request_id: str, db: DB, actor: CurrentActor,
            body: CommentIn | None = None) -> views.ApprovalView:
    return approvals.approve(db, actor=actor, request_id=request_id,
                             comment=body.comment if body else None)


@router.post("/approval-requests/{request_id}/reject", response_model=responses.ApprovalOut,
             responses=FORBIDDEN)
def reject(request_id: str, db: DB, actor: CurrentActor,
           body: CommentIn | None = None) -> views.ApprovalView:
    """The comment is required (the service names it when it is missing)."""
    return approvals.reject(db, actor=actor, request_id=request_id,
                            comment=body.comment if body else None)
