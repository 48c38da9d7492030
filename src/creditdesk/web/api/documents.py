"""Documents of a memo (D1, D2): its PDF, sending it by email and its deliveries; the
partner's profile (shown on documents) and SMTP settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Request, Response
from pydantic import BaseModel, Field

from creditdesk.domain import documents as doc_rules
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.documents import (
    deliveries,
    email_settings,
    memo_documents,
    profile,
)
from creditdesk.web.api import fields, schemas
from creditdesk.web.api.deps import DB, CurrentActor
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["documents"], route_class=DecimalJSONRoute)

PDF = {200: {"content": {"application/pdf": {"schema": {"type": "string",
                                                         "format": "binary"}}},
             "description": "The memo's PDF (D1)"},
       409: {"description": "A draft has no PDF (invalid_state)"}}


def pdf_response(file: memo_documents.PdfFile, *, download: bool = False) -> Response:
    """A PDF answer, named after the memo; never cached by shared caches."""
    disposition = "attachment" if download else "inline"
    return Response(file.content, media_type="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{file.filename}"',
        "Cache-Control": "private, no-store"})


@router.get("/credit-memos/{memo_id}/pdf", response_class=Response, responses=PDF)
def memo_pdf(memo_id: str, db: DB, actor: CurrentActor) -> Response:
    """D1: the PDF of an issued (or void: marked VOID) memo; a draft has none (409)."""
    return pdf_response(memo_documents.memo_pdf(db, actor=actor, memo_id=memo_id))


class SendIn(schemas.In):
    to: list[Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"})]] | \
        None = Field(default=None, min_length=1, max_length=doc_rules.MAX_RECIPIENTS,
                     description="email addresses; default the customer's billing email")


class DeliveryOut(BaseModel):
    id: str
    credit_memo_id: str
    to: list[str]
    status: str = Field(description="queued, sending, sent, failed or gave_up")
    message_id: str = Field(description="the email's Message-ID, the same on every attempt")
    attempts: int
    last_error: str | None = Field(description="the server's last answer (failed, gave_up)")
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_by: str
    created_at: datetime


class DeliveryList(BaseModel):
    data: list[DeliveryOut]


@router.post("/credit-memos/{memo_id}/send", status_code=202, response_model=DeliveryOut)
def send_memo(memo_id: str, request: Request, db: DB, actor: CurrentActor,
              body: SendIn | None = None) -> deliveries.DeliveryView:
    """D2: email the memo with its PDF attached; the job sends it after this answer."""
    view = deliveries.request_send(db, actor=actor, memo_id=memo_id,
                                   to=body.to if body is not None else None)
    sync_jobs.wake(request.app.state)
    return view


@router.get("/credit-memos/{memo_id}/deliveries", response_model=DeliveryList)
def list_deliveries(memo_id: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return {"data": deliveries.list_deliveries(db, actor=actor, memo_id=memo_id)}


class EmailSettingsIn(schemas.In):
    host: str = fields.text(255)
    port: fields.Port
    security: str = fields.one_of([s.value for s in doc_rules.Security])
    username: str | None = fields.text(255, blank=True, default=None)
    password: str | None = Field(default=None, max_length=email_settings.MAX_PASSWORD,
                                 description="write-only; left out: the stored one stays",
                                 json_schema_extra={"writeOnly": True})
    from_address: str = Field(max_length=254, json_schema_extra={"format": "email"})


class EmailSettingsOut(BaseModel):
    host: str
    port: int
    security: str
    username: str | None
    password_set: bool = Field(description="a password is stored (it is never answered)")
    from_address: str


@router.get("/settings/email", response_model=EmailSettingsOut | None)
def get_email(db: DB, actor: CurrentActor) -> email_settings.EmailSettingsView | None:
    """D2: the SMTP server (null until set); the password is never answered."""
    return email_settings.get_settings(db, actor=actor)


@router.put("/settings/email", response_model=EmailSettingsOut, responses={403: {}})
def put_email(body: EmailSettingsIn, db: DB,
              actor: CurrentActor) -> email_settings.EmailSettingsView:
    password: object = body.password if "password" in body.model_fields_set \
        else email_settings.KEEP
    return email_settings.replace_settings(
        db, actor=actor, host=body.host, port=body.port, security=body.security,
        username=body.username, from_address=body.from_address, password=password)


class ProfileIn(schemas.In):
    legal_name: str | None = fields.text(profile.MAX_NAME, blank=True, default=None)
    address: list[str] = Field(default=[], max_length=doc_rules.MAX_ADDRESS_LINES)
    email: str | None = Field(default=None, max_length=254,
                              json_schema_extra={"format": "email"})
    phone: str | None = fields.text(profile.MAX_PHONE, blank=True, default=None)


class ProfileOut(BaseModel):
    legal_name: str | None
    address: list[str]
    email: str | None
    phone: str | None
    has_logo: bool = Field(description="a logo is set (uploaded from the dashboard)")


@router.get("/settings/profile", response_model=ProfileOut)
def get_profile(db: DB, actor: CurrentActor) -> profile.ProfileView:
    """D1: what documents show of the partner."""
    return profile.get_profile(db, actor=actor)


@router.put("/settings/profile", response_model=ProfileOut, responses={403: {}})
def put_profile(body: ProfileIn, db: DB, actor: CurrentActor) -> profile.ProfileView:
    return profile.replace_profile(db, actor=actor, legal_name=body.legal_name,
                                   address=body.address, email=body.email or None,
                                   phone=body.phone)
