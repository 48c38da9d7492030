"""Dashboard sign-in and sign-out, and the dependencies naming the signed-in user.

Roles: ``admin`` may do everything; ``staff`` everything but Team Preferences (403).
Failed sign-ins are throttled by ``services.sign_in`` and each failure is answered after a
short delay, so guessing is slow even below the limit.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from creditdesk.domain import errors
from creditdesk.services import sign_in
from creditdesk.services.context import Actor
from creditdesk.web import csrf, htmx, templating
from creditdesk.web.api.deps import DB, get_db

router = APIRouter(include_in_schema=False)

SESSION_SECONDS = 12 * 3600
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
    user = request.session.get("user") if "session" in request.scope else None
    if not isinstance(user, dict) or not isinstance(user.get("exp"), int | float) \
            or user["exp"] < time.time():
        request.session.pop("user", None)
        raise SignInRequired
    try:
        actor = sign_in.user_actor(db, user_id=user.get("id"))  # type: ignore[arg-type]
    except errors.Unauthenticated:
        request.session.pop("user", None)
        raise SignInRequired from None
    request.state.user = actor
    return actor


def admin_user(actor: Annotated[Actor, Depends(current_user)]) -> Actor:
    if actor.role != "admin":
        raise errors.Forbidden("Only administrators can change Team Preferences.")
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
                status: int = 200) -> Response:
    return templating.render(request, "login.html", {"email": email, "next": next_url,
                                                     "error": error}, status=status)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if isinstance(request.session.get("user"), dict):
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
async def login(request: Request, form: csrf.CheckedForm, db: DB) -> Response:
    email, password = csrf.text(form, "email"), form.get("password")
    next_url = _safe_next(form.get("next"))
    address = request.client.host if request.client else "unknown"
    try:
        signed = await run_in_threadpool(sign_in.sign_in, db, email=email, password=password,
                                         address=address)
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
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in user
    request.session["user"] = {"id": signed.user_id, "exp": int(time.time()) + SESSION_SECONDS}
    csrf.rotate(request)
    return RedirectResponse(next_url, status_code=303)


@router.post("/logout")
def logout(request: Request, _form: csrf.CheckedForm) -> Response:
    request.session.pop("user", None)
    csrf.rotate(request)
    templating.flash(request, "You are signed out.")
    return RedirectResponse("/login", status_code=303)
