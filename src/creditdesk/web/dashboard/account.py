"""Your account (E4): change your password (your other sessions end) and sign out
everywhere (every session ends, this one included)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.services.access import partners, users
from creditdesk.web import auth, forms, sessions, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm

router = APIRouter(prefix="/account")
PAGE = "/dashboard/account"


def _this_session(request: Request) -> str | None:
    st = sessions.state(request)
    return st.row.id_hash if st and st.row else None


def _render(request: Request, db: DB, actor, refusal: forms.Refusal | None = None) -> Response:
    me = users.me(db, actor=actor)
    return templating.render(request, "dashboard/account.html", {"me": me, "refusal": refusal,
                              "min_password": partners.MIN_PASSWORD},
                             status=refusal.status if refusal else 200)


@router.get("")
def account(request: Request, db: DB, actor: User) -> Response:
    return _render(request, db, actor)


@router.post("/password")
def change_password(request: Request, db: DB, actor: User, form: CheckedForm) -> Response:
    try:
        ended = users.change_password(
            db, actor=actor, current=form.get("current_password"), new=form.get("new_password"),
            confirm=form.get("confirm_password"), address=auth.client_address(request),
            keep_session=_this_session(request))
    except (errors.ValidationError, errors.TooManyAttempts) as exc:
        return _render(request, db, actor, forms.refusal("password", exc))
    templating.flash(request, "Your password was changed" + (
        f"; your {ended} other session{'s' if ended != 1 else ''} ended." if ended else "."))
    return RedirectResponse(PAGE, status_code=303)


@router.post("/sign-out-everywhere")
def sign_out_everywhere(request: Request, db: DB, actor: User, _f: CheckedForm) -> Response:
    users.sign_out_everywhere(db, actor=actor)
    sessions.forget(request)
    return RedirectResponse(auth.SIGNED_OUT, status_code=303)

