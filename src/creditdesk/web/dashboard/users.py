"""Users (E4), administrators only: the partner's users with role and status; add a user,
change a role, deactivate or reactivate, end a user's sessions."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.services.access import partners, users
from creditdesk.services.common.context import Actor
from creditdesk.web import auth, forms, sessions, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter(prefix="/users")
PAGE = "/dashboard/users"


def _render(request: Request, db: DB, actor: Actor, refusal: forms.Refusal | None = None
            ) -> Response:
    return templating.render(request, "dashboard/users.html", {
        "users": users.list_users(db, actor=actor), "roles": users.ROLES, "refusal": refusal,
        "min_password": partners.MIN_PASSWORD},
        status=refusal.status if refusal else 200)


@router.get("")
def user_list(request: Request, db: DB, actor: Admin) -> Response:
    return _render(request, db, actor)


@router.post("")
def add_user(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    email, role = text(form, "email"), text(form, "role")
    try:
        users.create_user(db, actor=actor, email=email, password=form.get("password"),
                          role=role)
    except (errors.ValidationError, errors.Conflict) as exc:
        return _render(request, db, actor, forms.refusal("add", exc,
                                                          {"email": email, "role": role}))
    templating.flash(request, f"{email.lower()} was added as {role}. Give them their "
                     "password; they can change it under Account.")
    return RedirectResponse(PAGE, status_code=303)


def _act(request: Request, db: DB, actor: Actor, user_id: str, done: str,
         change: Callable[[], object], *, ends_sessions: bool = False,
         then: str = PAGE) -> Response:
    """Run one change of a user; a refusal is shown on that user's row."""
    try:
        change()
    except (errors.ValidationError, errors.InvalidState, errors.NotFound) as exc:
        return _render(request, db, actor, forms.refusal(f"u-{user_id}", exc))
    if ends_sessions and user_id == actor.user_id:  # this session too: signed out
        sessions.forget(request)
        return RedirectResponse(auth.SIGNED_OUT, status_code=303)
    templating.flash(request, done)
    return RedirectResponse(then, status_code=303)


@router.post("/{user_id}/role")
def change_role(request: Request, db: DB, actor: Admin, user_id: str,
                form: CheckedForm) -> Response:
    role = text(form, "role")
    demoted_self = user_id == actor.user_id and role != "admin"
    return _act(request, db, actor, user_id, f"The role was changed to {role}.",
                lambda: users.change_role(db, actor=actor, user_id=user_id, role=role),
                then=auth.HOME if demoted_self else PAGE)


@router.post("/{user_id}/deactivate")
def deactivate(request: Request, db: DB, actor: Admin, user_id: str,
               _f: CheckedForm) -> Response:
    return _act(request, db, actor, user_id, "The user was deactivated: their sessions "
                "ended and they can no longer sign in.",
                lambda: users.deactivate(db, actor=actor, user_id=user_id), ends_sessions=True)


@router.post("/{user_id}/reactivate")
def reactivate(request: Request, db: DB, actor: Admin, user_id: str,
               _f: CheckedForm) -> Response:
    return _act(request, db, actor, user_id, "The user was reactivated and can sign in again.",
                lambda: users.reactivate(db, actor=actor, user_id=user_id))


@router.post("/{user_id}/end-sessions")
def end_sessions(request: Request, db: DB, actor: Admin, user_id: str,
                 _f: CheckedForm) -> Response:
    return _act(request, db, actor, user_id, "The user's sessions ended: they must sign in "
                "again.", lambda: users.end_sessions(db, actor=actor, user_id=user_id),
                ends_sessions=True)
