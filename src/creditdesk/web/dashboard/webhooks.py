"""Webhooks (D4), for administrators: register an endpoint (its signing secret shown once,
right on the answer to the form), delete one, rotate its secret, and the recent events
with each delivery's attempts, with Replay. Plain forms: no JavaScript needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.domain import webhooks as rules
from creditdesk.services.common.context import Actor
from creditdesk.services.events import endpoints, event_log
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter()
PAGE = "/dashboard/webhooks"
RECENT = 20


def _render(request: Request, db: DB, actor: Actor, *, refusal: forms.Refusal | None = None,
            typed: dict[str, object] | None = None, secret: dict[str, str] | None = None,
            ) -> Response:
    return templating.render(request, "dashboard/webhooks.html", {
        "endpoints": endpoints.list_endpoints(db, actor=actor),
        "events": event_log.list_events(db, actor=actor, limit=RECENT).data,
        "types": rules.TYPES, "refusal": refusal, "v": typed or {}, "secret": secret},
        status=refusal.status if refusal else 200)


@router.get("/webhooks")
def page(request: Request, db: DB, actor: Admin) -> Response:
    return _render(request, db, actor)


@router.post("/webhooks")
def add_endpoint(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    url = text(form, "url")
    chosen = [str(v) for v in form.getlist("events")]
    wanted = [rules.ALL] if text(form, "all") or not chosen else chosen
    try:
        made = endpoints.create_endpoint(db, actor=actor, url=url, events=wanted)
    except errors.ValidationError as exc:
        return _render(request, db, actor, refusal=forms.refusal("add", exc, {"url": url}),
                       typed={"url": url, "events": chosen})
    return _render(request, db, actor, secret={
        "endpoint_id": made.id, "url": made.url, "secret": made.secret,
        "words": "This endpoint's signing secret"})


@router.post("/webhooks/{endpoint_id}/rotate")
def rotate(request: Request, endpoint_id: str, db: DB, actor: Admin,
           form: CheckedForm) -> Response:
    try:
        rotated = endpoints.rotate_secret(db, actor=actor, endpoint_id=endpoint_id)
    except errors.NotFound as exc:
        return _render(request, db, actor, refusal=forms.refusal("endpoints", exc))
    return _render(request, db, actor, secret={
        "endpoint_id": rotated.id, "url": "", "secret": rotated.secret,
        "words": "The new signing secret (the old one keeps signing for 24 hours)"})


@router.post("/webhooks/{endpoint_id}/delete")
def delete(request: Request, endpoint_id: str, db: DB, actor: Admin,
           form: CheckedForm) -> Response:
    try:
        endpoints.delete_endpoint(db, actor=actor, endpoint_id=endpoint_id)
    except errors.NotFound as exc:
        return _render(request, db, actor, refusal=forms.refusal("endpoints", exc))
    templating.flash(request, "Endpoint deleted: nothing more is sent to it.")
    return RedirectResponse(PAGE, status_code=303)


@router.post("/webhooks/events/{event_id}/redeliver")
def redeliver(request: Request, event_id: str, db: DB, actor: Admin,
              form: CheckedForm) -> Response:
    try:
        event_log.redeliver(db, actor=actor, event_id=event_id)
    except errors.NotFound as exc:
        return _render(request, db, actor, refusal=forms.refusal("events", exc))
    templating.flash(request, f"Event {event_id} will be sent again shortly.")
    return RedirectResponse(PAGE, status_code=303)
