"""Settings: credit-balance visibility (P2), customers applying their credit in the portal
(P5), available credit applied to new invoices (AU1)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool

from creditdesk.services.customer_accounts import (
    auto_apply_setting,
    portal_credit_setting,
    visibility,
)
from creditdesk.web.api import fields, schemas
from creditdesk.web.api.deps import DB, CurrentActor
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["settings"], route_class=DecimalJSONRoute)


class VisibilityIn(schemas.In):
    show_to_all_customers: StrictBool
    exceptions: list[fields.Id] = Field([], max_length=visibility.MAX_EXCEPTIONS)


class VisibilityOut(BaseModel):
    show_to_all_customers: bool
    exceptions: list[str]


def _out(s: visibility.Setting) -> dict[str, Any]:
    return {"show_to_all_customers": s.show_to_all_customers,
            "exceptions": [e.customer_id for e in s.exceptions]}


@router.get("/settings/credit-balance-visibility", response_model=VisibilityOut)
def get_visibility(db: DB, actor: CurrentActor) -> dict[str, Any]:
    return _out(visibility.get_setting(db, actor=actor))


@router.put("/settings/credit-balance-visibility", response_model=VisibilityOut)
def put_visibility(body: VisibilityIn, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return _out(visibility.replace_setting(db, actor=actor,
                                           show_to_all_customers=body.show_to_all_customers,
                                           exceptions=body.exceptions))


class PortalCreditIn(schemas.In):
    enabled: StrictBool
    exceptions: list[fields.Id] = Field([], max_length=visibility.MAX_EXCEPTIONS)


class PortalCreditOut(BaseModel):
    enabled: bool
    exceptions: list[str]


def _portal_credit_out(s: portal_credit_setting.Setting) -> dict[str, Any]:
    return {"enabled": s.value, "exceptions": [e.customer_id for e in s.exceptions]}


@router.get("/settings/portal-credit-application", response_model=PortalCreditOut)
def get_portal_credit(db: DB, actor: CurrentActor) -> dict[str, Any]:
    return _portal_credit_out(portal_credit_setting.get_setting(db, actor=actor))


@router.put("/settings/portal-credit-application", response_model=PortalCreditOut)
def put_portal_credit(body: PortalCreditIn, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return _portal_credit_out(portal_credit_setting.replace_setting(
        db, actor=actor, enabled=body.enabled, exceptions=body.exceptions))


class AutoApplyIn(PortalCreditIn):
    """AU1: apply available credit to new invoices; exceptions get the opposite."""


class AutoApplyOut(PortalCreditOut):
    """AU1: apply available credit to new invoices; exceptions get the opposite."""


@router.get("/settings/auto-apply", response_model=AutoApplyOut)
def get_auto_apply(db: DB, actor: CurrentActor) -> dict[str, Any]:
    """AU1: is available credit applied to new invoices when they are issued."""
    return _portal_credit_out(auto_apply_setting.get_setting(db, actor=actor))


@router.put("/settings/auto-apply", response_model=AutoApplyOut)
def put_auto_apply(body: AutoApplyIn, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return _portal_credit_out(auto_apply_setting.replace_setting(
        db, actor=actor, flag=body.enabled, exceptions=body.exceptions))
