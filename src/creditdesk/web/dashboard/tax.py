"""Tax rates (T1), under Team Preferences for administrators: the partner's rates and a
form to add one, simple or made of components; and the tax report (T4) for everyone: tax
charged and credited per rate over a period. Plain forms: no JavaScript needed."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from creditdesk.domain import currencies, errors
from creditdesk.services.invoicing import tax_rates
from creditdesk.services.read_models import tax_report
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin, User
from creditdesk.web.csrf import CheckedForm, text
from creditdesk.web.dashboard import preferences

router = APIRouter()
RATES = "/dashboard/preferences/tax-rates"
COMPONENT_ROWS = 3


def _render(request: Request, db: DB, actor, refusal: forms.Refusal | None = None,
            typed: dict[str, str] | None = None) -> Response:
    return templating.render(request, "dashboard/tax_rates.html", {
        "rates": tax_rates.list_tax_rates(db, actor=actor), "pages": preferences.PAGES,
        "refusal": refusal, "v": typed or {}, "component_rows": COMPONENT_ROWS},
        status=refusal.status if refusal else 200)


@router.get("/preferences/tax-rates")
def rate_list(request: Request, db: DB, actor: Admin) -> Response:
    return _render(request, db, actor)


def _components(form: FormData) -> list[dict[str, str]] | None:
    """The component rows with anything typed in them; none: a simple rate."""
    rows = [{"name": text(form, f"component-{i}-name"), "rate": text(form, f"component-{i}-rate")}
            for i in range(COMPONENT_ROWS)]
    filled = [r for r in rows if r["name"] or r["rate"]]
    return filled or None


@router.post("/preferences/tax-rates")
def add_rate(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    names = ["name", "rate"] + [f"component-{i}-{k}" for i in range(COMPONENT_ROWS)
                                for k in ("name", "rate")]
    typed = forms.values(form, *names)
    components = _components(form)
    try:
        made = tax_rates.create_tax_rate(db, actor=actor, name=typed["name"],
                                         rate=typed["rate"] or None, components=components)
    except errors.ValidationError as exc:
        return _render(request, db, actor, forms.refusal("add", exc, typed), typed)
    templating.flash(request, f"Tax rate {made.name} ({made.rate} %) added. Pick it on a "
                     "credit memo's lines.")
    return RedirectResponse(RATES, status_code=303)


def _day(value: str, default: date, field: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.ValidationError.for_field(field, "must be a date (YYYY-MM-DD)") from None


@router.get("/tax-report")
def report(request: Request, db: DB, actor: User, to: str = "",
           currency: str = "USD") -> Response:
    """T4: from ``?from=`` to ``?to=``; this month so far by default."""
    typed = {"from": request.query_params.get("from", ""), "to": to, "currency": currency}
    today = date.today()
    refusal, result = None, None
    try:
        start = _day(typed["from"], today.replace(day=1), "from")
        end = _day(to, today, "to")
        typed |= {"from": start.isoformat(), "to": end.isoformat()}
        result = tax_report.tax_report(db, actor=actor, start=start, end=end,
                                       currency=currency)
    except errors.ValidationError as exc:
        refusal = forms.refusal("report", exc, typed)
    return templating.render(request, "dashboard/tax_report.html", {
        "report": result, "v": typed, "refusal": refusal,
        "currencies": sorted(currencies.MINOR_DIGITS)},
        status=refusal.status if refusal else 200)
