"""Incidents and SLA policies (G5) in the Partner Dashboard: the incidents list with a form
to record one, and the SLA policy page (set or remove a product's policy, or the default).
Plain forms: no JavaScript needed. Times are typed and shown in UTC."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from creditdesk.domain import errors
from creditdesk.domain.suggestions import sla
from creditdesk.services.common.context import Actor
from creditdesk.services.read_models import incident_pages
from creditdesk.services.suggesting import incidents
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter()
LIST = "/dashboard/incidents"
SLA = "/dashboard/incidents/sla"
BAND_ROWS = 3
FIELDS = ("started_at", "ended_at", "description")


def _render(request: Request, db: DB, actor: Actor, template: str,
            refusal: forms.Refusal | None = None, typed: dict[str, object] | None = None
            ) -> Response:
    return templating.render(request, template, {
        "page": incident_pages.incidents_page(db, actor=actor), "refusal": refusal,
        "v": typed or {}, "band_rows": BAND_ROWS, "section": "incidents"},
        status=refusal.status if refusal else 200)


@router.get("/incidents")
def incident_list(request: Request, db: DB, actor: User) -> Response:
    return _render(request, db, actor, "dashboard/incidents.html")


def _picked(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


@router.post("/incidents")
def add_incident(request: Request, db: DB, actor: User, form: CheckedForm) -> Response:
    typed: dict[str, object] = dict(forms.values(form, *FIELDS))
    typed["customer_ids"] = _picked(form, "customer_ids")
    typed["variant_ids"] = _picked(form, "variant_ids")
    try:
        made = incidents.create_incident(
            db, actor=actor,
            started_at=sla.parse_time(typed["started_at"], "started_at"),
            ended_at=sla.parse_time(typed["ended_at"], "ended_at"),
            description=typed["description"], customer_ids=typed["customer_ids"],
            variant_ids=typed["variant_ids"])
    except errors.ValidationError as exc:
        return _render(request, db, actor, "dashboard/incidents.html",
                       forms.refusal("add", exc), typed)
    templating.flash(request, f"Incident \u201c{made.description}\u201d recorded. Refresh "
                     "suggestions to see the service credits it owes.")
    return RedirectResponse(LIST, status_code=303)


@router.get("/incidents/sla")
def sla_page(request: Request, db: DB, actor: User) -> Response:
    return _render(request, db, actor, "dashboard/sla.html")


@router.post("/incidents/sla")
def set_policy(request: Request, db: DB, actor: User, form: CheckedForm) -> Response:
    names = ["variant_id", "availability_promised"] + [
        f"band-{i}-{k}" for i in range(BAND_ROWS) for k in ("below", "credit_percent")]
    typed: dict[str, object] = dict(forms.values(form, *names))
    bands = [{"below": text(form, f"band-{i}-below"),
              "credit_percent": text(form, f"band-{i}-credit_percent")}
             for i in range(BAND_ROWS)]
    filled = [b for b in bands if b["below"] or b["credit_percent"]]
    variant = text(form, "variant_id") or None
    try:
        incidents.set_policy(db, actor=actor, variant_id=variant,
                             availability_promised=text(form, "availability_promised") or None,
                             bands=[{k: v or None for k, v in b.items()} for b in filled])
    except errors.ValidationError as exc:
        return _render(request, db, actor, "dashboard/sla.html", forms.refusal("set", exc),
                       typed)
    templating.flash(request, "SLA policy saved.")
    return RedirectResponse(SLA, status_code=303)


@router.post("/incidents/sla/remove")
def remove_policy(request: Request, db: DB, actor: User, form: CheckedForm) -> Response:
    incidents.remove_policy(db, actor=actor, variant_id=text(form, "variant_id") or None)
    templating.flash(request, "SLA policy removed.")
    return RedirectResponse(SLA, status_code=303)
