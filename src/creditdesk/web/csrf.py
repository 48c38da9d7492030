"""CSRF protection of every form (synchronizer token of the server-side session).

Each page renders the session's token as a hidden ``csrf_token`` input (and htmx sends it
as the ``X-CSRF-Token`` header); every POST of the pages passes ``checked_form``, which
refuses a request whose token is missing or differs, before anything else happens.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from creditdesk.domain import errors
from creditdesk.web import sessions

FIELD = "csrf_token"
HEADER = "x-csrf-token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def token(request: Request) -> str:
    """The session's token (a new session at sign-in and sign-out brings a new one)."""
    return sessions.csrf_token(request)


async def checked_form(request: Request) -> FormData:
    """The request's form, once its CSRF token has been checked (403 otherwise); a body of
    another content type (JSON, XML...) is 415, whatever it holds."""
    return await _checked(request, max_files=0)


async def checked_upload(request: Request) -> FormData:
    """``checked_form`` of a form that uploads one file (the logo, D1)."""
    return await _checked(request, max_files=1)


async def _checked(request: Request, *, max_files: int) -> FormData:
    media = request.headers.get("content-type", FORM_TYPES[0]).split(";")[0].strip().lower()
    if media not in FORM_TYPES:
        raise HTTPException(415, "This address takes a form (application/x-www-form-urlencoded "
                                 "or multipart/form-data), as the page sends it.")
    try:
        form = await request.form(max_files=max_files, max_fields=500)
    except Exception:  # malformed multipart or urlencoded body: still a clear refusal
        raise errors.ValidationError("The form could not be read; reload the page and try "
                                     "again.") from None
    sent = request.headers.get(HEADER) or form.get(FIELD)
    expected = sessions.csrf_token(request) or None
    if not (isinstance(sent, str) and isinstance(expected, str)
            and hmac.compare_digest(sent.encode(), expected.encode())):
        raise errors.Forbidden("This form has expired or did not come from CreditDesk. "
                               "Reload the page and try again.")
    for name, value in form.multi_items():
        # No form field can hold a NUL, and PostgreSQL refuses it in any text (a DataError
        # mid-use-case): such a request did not come from the page as it was shown.
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise errors.ValidationError.for_field(
                name.replace("\x00", "")[:60] or "form",
                "contains a NUL character, which no form field can hold")
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
CheckedUpload = Annotated[FormData, Depends(checked_upload)]


def text(form: FormData, name: str) -> str:
    """A form field as text ("" when absent or not text), trimmed."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
