"""Dashboard sign-in and sign-out, and the dependencies naming the signed-in user.

Roles: ``admin`` may do everything; ``staff`` everything but Team Preferences and Users
(403). Sign-ins are throttled by ``services.sign_in`` (E5) and each failure is answered
after a short delay, so guessing is slow even below the limit. The session lives on the
server (``web/sessions.py``, E4): signing out ends it for every copy of the cookie.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from creditdesk.domain import errors
from creditdesk.services.access import sign_in
from creditdesk.services.common.context import Actor
from creditdesk.web import csrf, htmx, sessions, templating
from creditdesk.web.api.deps import DB, get_db

router = APIRouter(include_in_schema=False)

FAILURE_DELAY = 1.0  # seconds added to each failed sign-in (tests set 0)
HOME = "/dashboard/credit-memos"


class SignInRequired(Exception):
    """Raised by ``current_user`` when there is no valid dashboard session."""


def _safe_next(value: object) -> str:
    if isinstance(value, str) and value.startswith("/dashboard") and "//" not in value \
            and "\\" not in value and len(value) < 2000:
        return value
    return HOME


def current_user(request: Request, db: Annotated[object, Depends(get_db)]) -> Actor:
    st = sessions.state(request)
    if st is None or st.row is None or st.row.user_id is None:
        raise SignInRequired
    try:
        actor = sign_in.user_actor(db, user_id=st.row.user_id)  # type: ignore[arg-type]
    except errors.Unauthenticated:
        raise SignInRequired from None
    request.state.user = actor
    return actor


def admin_user(actor: Annotated[Actor, Depends(current_user)]) -> Actor:
    if actor.role != "admin":
        raise errors.Forbidden("Only administrators can change Team Preferences and "
                               "manage users.")
    return actor


User = Annotated[Actor, Depends(current_user)]
Admin = Annotated[Actor, Depends(admin_user)]


def install(app) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        target = "/login?next=" + quote(request.url.path
                                        + (f"?{request.url.query}" if request.url.query else ""))
        if htmx.is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)


def _login_page(request: Request, *, email: str = "", next_url: str = HOME, error: str = "",
                status: int = 200, notice: str = "") -> Response:
    return templating.render(request, "login.html", {"email": email, "next": next_url,
                                                     "error": error, "notice": notice},
                             status=status)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def signed_in(request: Request) -> bool:
    st = sessions.state(request)
    return st is not None and st.row is not None


@router.get("/login")
def login_form(request: Request, next: str | None = None,
               signed_out: str | None = None) -> Response:
    if signed_in(request):
        return RedirectResponse(_safe_next(next), status_code=303)
    # The session that would hold a flash is gone: the notice rides on the address.
    return _login_page(request, next_url=_safe_next(next),
                       notice="You are signed out." if signed_out else "")


@router.post("/login")
async def login(request: Request, form: csrf.CheckedForm, db: DB) -> Response:
    email, password = csrf.text(form, "email"), form.get("password")
    next_url = _safe_next(form.get("next"))
    try:
        signed = await run_in_threadpool(sign_in.sign_in, db, email=email, password=password,
                                         address=client_address(request))
    except errors.TooManyAttempts as exc:
        return _login_page(request, email=email, next_url=next_url, error=exc.detail,
                           status=429)
    except errors.Unauthenticated as exc:
        await asyncio.sleep(FAILURE_DELAY)
        return _login_page(request, email=email, next_url=next_url, error=exc.detail,
                           status=401)
    except errors.ValidationError:
        return _login_page(request, email=email, next_url=next_url,
                           error="Enter your email and password.", status=422)
    # A new session id (and CSRF token) at every sign-in: a planted cookie gains nothing.
    await run_in_threadpool(sessions.sign_in, request, partner_id=signed.actor.partner_id,
                            user_id=signed.user_id)
    return RedirectResponse(next_url, status_code=303)


SIGNED_OUT = "/login?signed_out=1"


@router.post("/logout")
def logout(request: Request, _form: csrf.CheckedForm) -> Response:
    sessions.sign_out(request)
    return RedirectResponse(SIGNED_OUT, status_code=303)
