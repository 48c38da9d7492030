"""One shape per answer, no hidden I/O (issue 12, item 3).

A route returns its use case's view and FastAPI reads it into the route's response model
by attribute name (``web/api/responses.py``). Two things keep that honest:

- each response model is paired here with the view it reads, and the test fails when a
  field of one is not in the other (a view field the API does not answer is listed, with
  why, in ``NOT_ANSWERED``); every response model is either paired or listed as built in
  its route, so a new one cannot slip past;
- the use case returns everything its answer needs: serialising the answer of an
  application or a removal runs no SQL statement and checks out no connection, and over
  HTTP nothing touches the database once the use case has returned.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy import event

from creditdesk.db.engine import Database
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.common import pagination
from creditdesk.services.credit_memos import credit, refunds
from creditdesk.services.customer_accounts import customers
from creditdesk.services.events import endpoints, event_log
from creditdesk.services.invoicing import catalog, tax_rates
from creditdesk.services.read_models import audit_trail, credit_aging, tax_report, views
from creditdesk.services.suggesting import incidents, refresh_runs, suggestions
from creditdesk.web.api import responses
from tests import factories as f
from tests.api.conftest import API, customer, invoice, memo, ok

# response model -> (the view it reads, the view's fields it leaves out)
PAIRS: dict[type[BaseModel], tuple[type, frozenset[str]]] = {
    # tax_rate_name: the document's taxes name each rate once
    responses.LineOut: (views.LineView, frozenset({"synced", "invoice_line_id",
                                                   "tax_rate_name"})),
    responses.MemoLineOut: (views.LineView, frozenset({"synced", "tax_rate_name"})),
    responses.TaxAmountOut: (views.TaxAmountView, frozenset()),
    responses.TaxComponentOut: (tax_rates.ComponentView, frozenset()),
    responses.TaxRateOut: (tax_rates.TaxRateView, frozenset()),
    responses.WebhookEndpointOut: (endpoints.EndpointView, frozenset()),
    responses.WebhookEndpointCreatedOut: (endpoints.EndpointCreated, frozenset()),
    responses.SecretRotatedOut: (endpoints.SecretRotated, frozenset()),
    responses.WebhookAttemptOut: (event_log.AttemptView, frozenset()),
    responses.WebhookDeliveryOut: (event_log.DeliveryView, frozenset()),
    responses.EventOut: (event_log.EventView, frozenset()),
    responses.TaxReportRateOut: (tax_report.TaxReportRate, frozenset()),
    responses.TaxReportOut: (tax_report.TaxReport, frozenset()),
    responses.CreditAgingRowOut: (credit_aging.AgingRow, frozenset()),  # D3
    responses.CreditAgingOut: (credit_aging.CreditAging, frozenset()),
    responses.MemoOut: (views.MemoView, frozenset()),
    responses.ApprovalOut: (views.ApprovalView, frozenset()),
    responses.RefundOut: (views.RefundView, frozenset()),
    responses.RefundedOut: (refunds.Refunded, frozenset()),
    responses.PaymentOut: (views.PaymentView, frozenset()),
    responses.CreditAppliedOut: (views.CreditAppliedView, frozenset()),
    responses.InvoiceOut: (views.InvoiceView, frozenset()),
    responses.ApplicationOut: (views.ApplicationView, frozenset()),
    responses.AppliedOut: (credit.Applied, frozenset()),
    # the amount removed is in the memo's and the invoice's figures; pending: the answer's
    # status (202, Y13)
    responses.RemovedOut: (credit.Removed, frozenset({"amount", "pending"})),
    responses.CreditRemovedOut: (credit.Removed, frozenset({"amount", "pending"})),
    responses.WriteBackOut: (views.WriteBackView, frozenset()),
    # references: answered at /customers/{id}/references; the first one is external_*
    responses.CustomerOut: (customers.CustomerView, frozenset({"references"})),
    # name: the customer's name in that system, shown on the dashboard only
    responses.ReferenceOut: (customers.ReferenceView, frozenset({"name"})),
    responses.ProductOut: (catalog.ProductView, frozenset()),
    responses.VariantOut: (catalog.VariantView, frozenset()),
    responses.SummaryMemoOut: (customers.SummaryMemo, frozenset()),
    responses.SummaryRefundOut: (customers.SummaryRefund, frozenset()),
    responses.ActivityOut: (ledger.ActivityView, frozenset()),
    responses.JournalLineOut: (ledger.JournalLineView, frozenset()),
    responses.JournalEntryOut: (ledger.JournalEntryView, frozenset()),
    responses.AccountOut: (ledger.AccountBalance, frozenset()),
    responses.TrialBalanceOut: (ledger.TrialBalance, frozenset()),
    # summary: the dashboard's wording of the event
    responses.AuditEventOut: (audit_trail.AuditEventView, frozenset({"summary"})),
    # invoice_id: the first of invoice_ids, for the dashboard's link
    responses.SuggestionOut: (suggestions.SuggestionView, frozenset({"invoice_id"})),
    responses.SuggestionRefreshOut: (suggestions.RefreshResult, frozenset()),
    responses.SuggestionRunOut: (refresh_runs.RunView, frozenset()),
    responses.IncidentOut: (incidents.IncidentView, frozenset()),
    responses.SlaBandOut: (incidents.BandView, frozenset()),
    responses.SlaPolicyOut: (incidents.PolicyView, frozenset()),
    responses.SlaOut: (incidents.SlaSettings, frozenset()),
    responses.Page: (pagination.Page, frozenset()),
}
# Models whose values a route assembles (a figure the view names differently, or a value
# from the web layer such as the portal URL); the route's test checks each field.
BUILT_IN_ROUTE = {
    responses.BalanceOut, responses.CreditSummaryOut,  # balances: a list of Money
    responses.RefundedTotalOut,  # refunded: a list of Money (R3)
    responses.PortalLinkOut,  # the URL is built in web/
    responses.SuggestionAcceptedOut,  # the memo of (memo, suggestion)
    responses.ApplicationRequestedOut,  # {"application"} of the pending application (Y11)
}


def _view_attributes(view: type) -> tuple[set[str], set[str]]:
    """The view's fields, and its read-only properties."""
    fields = {f.name for f in dataclasses.fields(view)}
    properties = {name for name, _ in inspect.getmembers(view, lambda m: isinstance(m, property))}
    return fields, properties


def _model_fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def _is_money(hint: object) -> bool:
    """Whether a view's field holds a domain ``Money`` (or ``Money | None``)."""
    return hint is Money or Money in typing.get_args(hint)


def _answers_amount(field: FieldInfo) -> bool:
    """Whether a model's field is ``responses.Money`` (or ``responses.Money | None``)."""
    metadata = list(field.metadata)
    for arg in typing.get_args(field.annotation):
        metadata += getattr(arg, "__metadata__", ())
    return any(getattr(m, "func", None) is responses._decimal_text for m in metadata)


@pytest.mark.parametrize("model", list(PAIRS), ids=lambda m: m.__name__)
def test_every_answer_field_is_a_field_of_its_view_and_back(model):
    view, not_answered = PAIRS[model]
    fields, properties = _view_attributes(view)
    missing = _model_fields(model) - fields - properties
    assert not missing, f"{model.__name__} answers {missing}, which {view.__name__} lacks"
    unanswered = fields - _model_fields(model) - not_answered
    assert not unanswered, (f"{view.__name__} has {unanswered}, which {model.__name__} does "
                            "not answer: add it to the model, or to NOT_ANSWERED with why")
    assert not not_answered & _model_fields(model)


@pytest.mark.parametrize("model", [m for m in PAIRS if m is not responses.Page],
                         ids=lambda m: m.__name__)
def test_an_amount_of_a_view_is_an_amount_of_its_answer(model):
    """A view's ``Money`` field is answered as ``responses.Money`` (the decimal string),
    and only those: a plain ``str`` field would refuse the domain value."""
    view, _ = PAIRS[model]
    hints = typing.get_type_hints(view)
    for name, field in model.model_fields.items():
        if name not in hints:
            continue  # a property
        assert _is_money(hints[name]) == _answers_amount(field), (model.__name__, name)


def test_every_response_model_is_paired_or_built_in_its_route():
    """A list page (``CustomerPage``…) is a ``Page``, read from ``pagination.Page``."""
    models = {m for m in vars(responses).values()
              if isinstance(m, type) and issubclass(m, responses.Out)
              and m is not responses.Out and not issubclass(m, responses.Page)}
    assert models - set(PAIRS) - BUILT_IN_ROUTE == set()


# --- no I/O once the use case has returned ---------------------------------------------

@contextmanager
def io_counted(db: Database) -> Iterator[list[str]]:
    """Every statement run and every connection checked out on ``db`` inside the block."""
    seen: list[str] = []

    def statement(conn, cursor, sql, *args) -> None:
        seen.append(sql)

    def checkout(*args) -> None:
        seen.append("<connection checked out>")

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine.pool, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine.pool, "checkout", checkout)


def _memo_and_invoice(db, actor) -> tuple[str, str]:
    cus = f.customer(db, actor)
    return f.memo(db, actor, cus, "50.00"), f.invoice(db, actor, cus, "100.00")


def test_serialising_an_application_s_answer_does_no_io(db, actor):
    memo_id, invoice_id = _memo_and_invoice(db, actor)
    applied = credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id,
                                  amount="20.00")
    with io_counted(db) as seen:
        body = responses.AppliedOut.model_validate(applied).model_dump_json()
    assert seen == []
    assert '"remaining_amount":"30.00"' in body and '"balance_due":"80.00"' in body


def test_serialising_a_removal_s_answer_does_no_io(db, actor):
    memo_id, invoice_id = _memo_and_invoice(db, actor)
    credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id,
                        amount="20.00")
    removed = credit.remove_credit(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id)
    with io_counted(db) as seen:
        responses.RemovedOut.model_validate(removed).model_dump_json()
        responses.CreditRemovedOut.model_validate(removed).model_dump_json()
    assert seen == []


@pytest.mark.parametrize("use_case", ["apply_credit", "remove_credit"])
def test_over_http_nothing_touches_the_database_after_the_use_case(client, db, monkeypatch,
                                                                   use_case):
    """From the moment the route's use case returns to the last byte of the answer (the
    response model reading the view, the JSON), no statement and no connection."""
    cid = customer(client)
    memo_id, invoice_id = memo(client, cid, "50.00")["id"], invoice(client, cid, "100.00")["id"]
    if use_case == "remove_credit":
        ok(client.post(f"{API}/credit-memos/{memo_id}/applications",
                       json={"invoice_id": invoice_id, "amount": "20.00"}), 201)
    real = getattr(credit, use_case)
    after: list[list[str]] = []
    counting = io_counted(db)

    def counted(*args, **kwargs):
        result = real(*args, **kwargs)
        after.append(counting.__enter__())
        return result

    monkeypatch.setattr(credit, use_case, counted)
    try:
        if use_case == "apply_credit":
            body = ok(client.post(f"{API}/credit-memos/{memo_id}/applications",
                                  json={"invoice_id": invoice_id, "amount": "20.00"}), 201)
        else:
            body = ok(client.delete(f"{API}/credit-memos/{memo_id}/applications",
                                    params={"invoice_id": invoice_id}))
    finally:
        counting.__exit__(None, None, None)
    assert after == [[]]
    assert body["credit_memo"]["id"] == memo_id and body["invoice"]["id"] == invoice_id
