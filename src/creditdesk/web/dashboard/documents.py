"""A memo's documents on the dashboard (D1, D2): its PDF, the Send step (the recipients
shown first, then confirmed), and under Team Preferences > Documents the partner's profile,
logo and SMTP settings (administrators). Plain forms: no JavaScript needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import documents as doc_rules
from creditdesk.domain import errors
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.documents import deliveries, email_settings, memo_documents, profile
from creditdesk.web import forms, templating
from creditdesk.web.api import documents as api_documents
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin, User
from creditdesk.web.csrf import CheckedForm, CheckedUpload, text
from creditdesk.web.dashboard import preferences

router = APIRouter()
SETTINGS = "/dashboard/preferences/documents"
PROFILE_FIELDS = ("legal_name", "address", "email", "phone")
EMAIL_FIELDS = ("host", "port", "security", "username", "password", "from_address")


@router.get("/credit-memos/{memo_id}/pdf")
def memo_pdf(db: DB, actor: User, memo_id: str) -> Response:
    """D1: the memo's PDF, opened in the browser (a draft: the error page, 409)."""
    return api_documents.pdf_response(memo_documents.memo_pdf(db, actor=actor, memo_id=memo_id))


def _send_page(request: Request, db: DB, actor, memo_id: str,
               refusal: forms.Refusal | None = None, typed: str | None = None) -> Response:
    who = deliveries.recipients(db, actor=actor, memo_id=memo_id)
    return templating.render(request, "dashboard/memo_send.html", {
        "memo_id": memo_id, "who": who, "refusal": refusal,
        "to": typed if typed is not None else ", ".join(who.to)},
        status=refusal.status if refusal else 200)


@router.get("/credit-memos/{memo_id}/send")
def send_step(request: Request, db: DB, actor: User, memo_id: str) -> Response:
    """D2: who the memo will be sent to, before anything is sent."""
    return _send_page(request, db, actor, memo_id)


@router.post("/credit-memos/{memo_id}/send")
def send(request: Request, db: DB, actor: User, memo_id: str, form: CheckedForm) -> Response:
    to = text(form, "to")
    try:
        d = deliveries.request_send(db, actor=actor, memo_id=memo_id, to=to or None)
    except errors.DomainError as exc:
        return _send_page(request, db, actor, memo_id, forms.refusal("send", exc, {"to": to}),
                          to)
    sync_jobs.wake(request.app.state)
    templating.flash(request, f"Sending to {', '.join(d.to)}: the status is under Emails "
                     "on this page.")
    return RedirectResponse(f"/dashboard/credit-memos/{memo_id}#deliveries", status_code=303)


def _settings_page(request: Request, db: DB, actor, refusal: forms.Refusal | None = None,
                   typed: dict[str, str] | None = None) -> Response:
    shown = profile.get_profile(db, actor=actor)
    smtp = email_settings.get_settings(db, actor=actor)
    v = {"legal_name": shown.legal_name or "", "address": "\n".join(shown.address),
         "email": shown.email or "", "phone": shown.phone or "",
         "host": smtp.host if smtp else "", "port": str(smtp.port) if smtp else "587",
         "security": smtp.security if smtp else "starttls",
         "username": (smtp.username or "") if smtp else "",
         "from_address": smtp.from_address if smtp else "", "password": ""}
    v.update(typed or {})
    return templating.render(request, "dashboard/document_settings.html", {
        "pages": preferences.PAGES, "profile": shown, "smtp": smtp, "v": v,
        "refusal": refusal, "securities": [s.value for s in doc_rules.Security],
        "max_logo_kib": doc_rules.MAX_LOGO_BYTES // 1024},
        status=refusal.status if refusal else 200)


@router.get("/preferences/documents")
def settings_page(request: Request, db: DB, actor: Admin) -> Response:
    return _settings_page(request, db, actor)


@router.post("/preferences/profile")
def save_profile(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    typed = forms.values(form, *PROFILE_FIELDS)
    address = form.get("address")
    typed["address"] = address if isinstance(address, str) else ""
    try:
        profile.replace_profile(db, actor=actor, legal_name=typed["legal_name"],
                                address=typed["address"], email=typed["email"] or None,
                                phone=typed["phone"])
    except errors.ValidationError as exc:
        return _settings_page(request, db, actor, forms.refusal("profile", exc, typed), typed)
    templating.flash(request, "Profile saved: it is shown on your credit memo PDFs.")
    return RedirectResponse(SETTINGS, status_code=303)


@router.post("/preferences/logo")
async def upload_logo(request: Request, db: DB, actor: Admin, form: CheckedUpload) -> Response:
    upload = form.get("logo")
    data = await upload.read(doc_rules.MAX_LOGO_BYTES + 1) if hasattr(upload, "read") else b""
    try:
        profile.set_logo(db, actor=actor, data=data)
    except errors.ValidationError as exc:
        return _settings_page(request, db, actor, forms.refusal("logo", exc))
    templating.flash(request, "Logo saved: it is shown on your credit memo PDFs.")
    return RedirectResponse(SETTINGS, status_code=303)


@router.post("/preferences/logo/remove")
def remove_logo(request: Request, db: DB, actor: Admin, _f: CheckedForm) -> Response:
    profile.remove_logo(db, actor=actor)
    templating.flash(request, "Logo removed.")
    return RedirectResponse(SETTINGS, status_code=303)


@router.get("/preferences/logo")
def logo(db: DB, actor: Admin) -> Response:
    found = profile.get_logo(db, actor=actor)
    if found is None:
        raise errors.NotFound("No logo has been uploaded.")
    return Response(found.data, media_type=found.content_type,
                    headers={"Cache-Control": "private, no-store"})


@router.post("/preferences/email")
def save_email(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    typed = forms.values(form, *EMAIL_FIELDS)
    password = form.get("password")
    try:
        port = forms.whole_number(typed["port"])
        email_settings.replace_settings(
            db, actor=actor, host=typed["host"], port=port, security=typed["security"],
            username=typed["username"] or None, from_address=typed["from_address"],
            password=password if isinstance(password, str) and password
            else email_settings.KEEP)
    except errors.ValidationError as exc:
        typed["password"] = ""  # never shown back
        return _settings_page(request, db, actor, forms.refusal("email", exc, typed), typed)
    templating.flash(request, "Email settings saved: credit memos are sent through "
                     f"{typed['host']}.")
    return RedirectResponse(SETTINGS, status_code=303)
