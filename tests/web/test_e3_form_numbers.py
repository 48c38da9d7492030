"""E3: numbers in the page forms (a superscript "²", a 5,000-digit number, a non-ASCII digit)
are refused next to the field, and no answer, not even a bug's 500, costs the client its
keep-alive connection: the next request on the same connection is served (uvicorn over real
HTTP, both databases)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import memos
from creditdesk.services.read_models import pages
from creditdesk.web.app import create_app
from tests import factories
from tests.local_server import serve
from tests.web.conftest import SECRET, Browser

ODD_NUMBERS = ["\u00b2", "\u0663", "\uff11", "9" * 5000, "1" * 10]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _line(cid: str, quantity: str, line_count: str = "1") -> dict[str, str]:
    return {"customer_id": cid, "reason": "goodwill", "line_count": line_count,
            "line-0-description": "Returned router", "line-0-quantity": quantity,
            "line-0-unit_price": "10.00"}


@pytest.mark.parametrize("quantity", ODD_NUMBERS)
def test_e3_odd_digits_in_a_quantity_are_refused_next_to_the_field(
        admin: Browser, db: Database, actor: Actor, quantity: str) -> None:
    cid = factories.customer(db, actor)
    r = admin.post("/dashboard/credit-memos/new", _line(cid, quantity))
    assert r.status_code == 422, r.text[-500:]
    assert 'id="err-memo-line-0-quantity"' in r.text and "whole number" in r.text
    assert memos.list_memos(db, actor=actor).data == []


@pytest.mark.parametrize("line_count", ["\u00b2", "9" * 5000, "\u0663", "-1"])
def test_e3_an_odd_line_count_shows_the_form_again(admin: Browser, db: Database, actor: Actor,
                                                   line_count: str) -> None:
    cid = factories.customer(db, actor)
    draft = factories.memo(db, actor, cid, "10.00", issue=False)
    for url in ("/dashboard/credit-memos/new", f"/dashboard/credit-memos/{draft}/edit"):
        r = admin.post(url, {"customer_id": cid, "reason": "goodwill", "add_line": "1",
                             "line_count": line_count})
        assert r.status_code == 200 and 'id="memo-form"' in r.text, (url, r.status_code)
        r = admin.post(url, {"customer_id": cid, "reason": "goodwill",
                             "line_count": line_count})
        assert r.status_code == 422 and 'id="error-memo"' in r.text, (url, r.status_code)
    assert [m.id for m in memos.list_memos(db, actor=actor).data] == [draft]


@pytest.fixture
def live(db: Database) -> Iterator[httpx.Client]:
    """The app under uvicorn, and a client whose every request reuses one connection."""
    with serve(create_app(db, secret_key=SECRET), "CreditDesk") as base, httpx.Client(
            base_url=base, limits=httpx.Limits(max_connections=1)) as client:
        yield client


def _sign_in(client: httpx.Client) -> str:
    token = _CSRF.search(client.get("/login").text).group(1)
    r = client.post("/login", data={"email": "admin@acme.test", "password": "correct horse",
                                    "csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and "Credit memos" in r.text
    return _CSRF.search(r.text).group(1)


def test_e3_the_connection_serves_the_next_request_after_odd_numbers(
        live: httpx.Client, db: Database, actor: Actor) -> None:
    cid = factories.customer(db, actor)
    token = _sign_in(live)
    for value in ODD_NUMBERS:
        for data in (_line(cid, value), _line(cid, "1", line_count=value)):
            r = live.post("/dashboard/credit-memos/new", data={**data, "csrf_token": token})
            assert r.status_code in (303, 422), r.status_code
            assert live.get("/dashboard/credit-memos").status_code == 200


def test_e3_even_a_bug_answers_500_and_keeps_the_connection(
        live: httpx.Client, partner, monkeypatch: pytest.MonkeyPatch) -> None:
    _sign_in(live)

    def bug(*_args, **_kwargs):
        raise RuntimeError("a bug in a page")

    with monkeypatch.context() as m:
        m.setattr(pages, "memo_list", bug)
        r = live.get("/dashboard/credit-memos")
        assert r.status_code == 500 and "Something went wrong on our side" in r.text
        assert "RuntimeError" not in r.text
    # Starlette re-raises after its 500 and uvicorn then closes the connection: the
    # client's next request on it used to fail with "connection reset".
    assert live.get("/dashboard/credit-memos").status_code == 200
    assert live.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("content_type", ["application/json", "text/xml", "text/plain"])
def test_e3_a_form_address_refuses_another_content_type_with_415(
        admin: Browser, db: Database, actor: Actor, content_type: str) -> None:
    cid = factories.customer(db, actor)
    for url in ("/dashboard/credit-memos/new", "/login", "/dashboard/integrations/connect-desktop"):
        r = admin.c.post(url, content=b'{"customer_id": "%s", "amount": "5"}' % cid.encode(),
                         headers={"content-type": content_type, "x-csrf-token": admin.token})
        assert r.status_code == 415 and 'role="alert"' in r.text, (url, r.status_code)
        assert "application/x-www-form-urlencoded" in r.text
    assert memos.list_memos(db, actor=actor).data == []
