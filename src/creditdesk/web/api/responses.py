"""Response bodies of the JSON API (API.md): the shape of each answer, declared once.

A route returns the service's view (``services/read_models/views.py`` and the other
services' frozen dataclasses) and names its model here as ``response_model``; FastAPI
validates the view into the model by its attributes (once) and writes the JSON straight
from it (pydantic's ``dump_json``). No mapping in between: a field is read from the view
attribute of the same name, a domain ``Money`` becomes API.md's decimal string here
(``Money`` below). A view that lacks a field fails the answer (500) in every test that
reaches it; ``tests/api/test_answer_shapes.py`` also pairs each model with its view and
fails when one has a field the other does not. The same models make the OpenAPI document.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.responses import Response

from creditdesk.domain import money


def _decimal_text(value: object) -> object:
    """A view's amount as a decimal string with the currency's minor digits ("60.00",
    "100" for JPY); a string is left to the ``str`` check."""
    return value.to_str() if isinstance(value, money.Money) else value


Money = Annotated[str, BeforeValidator(_decimal_text),
                  Field(examples=["60.00"],
                        description="Decimal string with the currency's minor digits")]
T = TypeVar("T")


class Out(BaseModel):
    """An answer's model: read from a view's attributes (or a dict), nothing unknown."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Page(Out, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at "
                                                "the end")


class LineOut(Out):
    id: str
    description: str
    quantity: int | str | None = Field(description=(
        "A whole number. On a synced memo or invoice, the accounting system's quantity: a "
        "decimal string when it is not whole (\"1.5\"), null when it reports none"))
    unit_price: Money | None = Field(description=(
        "null only on a synced memo or invoice whose system reports no unit price in whole "
        "minor units"))
    amount: Money
    variant_id: str | None
    tax_rate_id: str | None = Field(description="the line's tax rate (T1), if any")
    tax: Money | None = Field(description=(
        "the line's tax (T2), stored when the line was saved; null without a rate"))


class TaxAmountOut(Out):
    """T2: a document's tax of one rate; a synced document's tax is one amount of its
    system's (T5), with tax_rate_id null and the name "Tax"."""

    tax_rate_id: str | None
    name: str
    amount: Money


class MemoLineOut(LineOut):
    invoice_line_id: str | None = Field(description=(
        "the invoice line this line credits, when the memo was started from an invoice "
        "(C6)"))


class ApprovalOut(Out):
    """An approval request of a draft memo (AP1): status pending, approved, rejected or
    withdrawn (the draft was edited after it was asked); ``total`` is what was asked for."""

    id: str
    credit_memo_id: str
    credit_memo_number: str
    status: str = Field(json_schema_extra={"enum": ["pending", "approved", "rejected",
                                                    "withdrawn"]})
    total: Money
    currency: str
    requested_by: str
    requested_by_user_id: str | None = Field(description="null when a partner-wide API key "
                                                         "asked")
    request_comment: str | None
    requested_at: datetime
    decided_by: str | None
    decision_comment: str | None
    decided_at: datetime | None


class RefundOut(Out):
    """R1/R2: a refund of a memo's credit; ``voided_at`` once voided."""

    id: str
    credit_memo_id: str
    amount: Money
    method: Literal["card", "bank_transfer", "check", "cash", "other"]
    refunded_at: date
    reference: str | None
    refunded_by: str
    created_at: datetime
    voided_at: datetime | None
    voided_by: str | None


class MemoOut(Out):
    """A credit memo (C1); status one of draft, issued, partially_applied, applied, void.
    C7: applied_amount + refunded_amount + remaining_amount = total unless void."""

    id: str
    number: str
    customer_id: str
    currency: str
    reason: str
    status: str
    issue_date: date | None
    invoice_id: str | None
    lines: list[MemoLineOut]
    total: Money
    # the view's applied_amount is the credit used; the API answers its part applied to
    # invoices, refunds apart (C7)
    applied_amount: Money = Field(validation_alias="applied_to_invoices", description=(
        "Credit applied to invoices (in its system, for a synced memo)"))
    refunded_amount: Money = Field(description="Credit refunded to the customer (R1; in its "
                                               "system, for a synced memo)")
    refunds: list[RefundOut] = Field(description="R1: the memo's refunds, voided ones "
                                                 "included, oldest first")
    remaining_amount: Money
    notes: str | None = Field(description="internal notes: never on the PDF nor in the portal")
    customer_note: str | None = Field(description=(
        "D1: the note the customer sees, on the PDF and in the portal"))
    source: str = Field(description="native, quickbooks_online, quickbooks_desktop, "
                                    "sage_intacct or xero")
    external_id: str | None
    read_only: bool
    issued_at: datetime | None
    applied_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    created_at: datetime
    updated_at: datetime
    approval: ApprovalOut | None = Field(description=(
        "AP1: a draft's open approval request (pending, or approved and not edited since); "
        "null when it has none, and on every memo that is not a draft. Every request, "
        "rejected and withdrawn ones too, is at /credit-memos/{id}/approval-requests"))
    subtotal: Money | None = Field(description=(
        "the total before tax (Σ of the lines' net); null when tax_total is"))
    tax_total: Money | None = Field(description=(
        "the tax in the total (a synced document: its system's, T5); null when the "
        "system reported no tax figure for it (unknown, not zero)"))
    taxes: list[TaxAmountOut] = Field(description="the tax per rate (T2)")
    tax_inclusive: bool = Field(description="whether the lines' prices include tax (T1)")


class PaymentOut(Out):
    id: str
    amount: Money
    paid_at: datetime


class CreditAppliedOut(Out):
    credit_memo_id: str
    credit_memo_number: str
    amount: Money
    applied_at: datetime


class InvoiceOut(Out):
    """An invoice (I2-I5): native, or synced from an accounting system (Y9: read-only, its
    figures the system's); status one of draft, open, partially_paid, paid, void."""

    id: str
    number: str
    customer_id: str
    currency: str
    status: str
    issue_date: date | None
    due_date: date | None
    lines: list[LineOut]
    total: Money
    amount_paid: Money = Field(description=(
        "the payments recorded; on a synced invoice, what its system reports settled "
        "(total - its balance due: payments and credit applied there)"))
    credit_applied: Money = Field(description="credit applied here (0 on a synced invoice, "
                                              "whose credit is in amount_paid)")
    balance_due: Money = Field(description="on a synced invoice, the balance due its "
                                           "system reports")
    payments: list[PaymentOut]
    credits_applied: list[CreditAppliedOut]
    notes: str | None
    issued_at: datetime | None
    voided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    source: str = Field(description="native, quickbooks_online, quickbooks_desktop, "
                                    "sage_intacct or xero")
    external_id: str | None = Field(description="the invoice's id in its system (synced "
                                                "invoices)")
    read_only: bool = Field(description="true for a synced invoice: change it in its system")
    subtotal: Money | None = Field(description="the total before tax; null when tax_total is")
    tax_total: Money | None = Field(description=(
        "the tax in the total (a synced invoice: its system's, T5); null when the system "
        "reported no tax figure for it (unknown, not zero)"))
    taxes: list[TaxAmountOut] = Field(description="the tax per rate (T2)")
    tax_inclusive: bool = Field(description="whether the lines' prices include tax (T1)")


class WriteBackOut(Out):
    """Y11: where the application is written back, what the system made, its refusal."""

    system: str
    external_id: str | None
    error: str | None


class ApplicationOut(Out):
    id: str
    credit_memo_id: str
    invoice_id: str
    amount: Money
    applied_at: datetime
    applied_by: str
    status: Literal["applied", "pending", "failed"]
    origin: Literal["user", "automatic", "portal", "source_system"]
    write_back: WriteBackOut | None


class ApplicationRequestedOut(Out):
    """Y11: an application of synced credit sent to its system (202): ``pending`` until
    the system answers, then ``applied`` or ``failed``."""

    application: ApplicationOut


class AppliedOut(Out):
    application: ApplicationOut
    credit_memo: MemoOut
    invoice: InvoiceOut


class RefundedOut(Out):
    """R1/R2: the refund recorded (or voided) and the memo after it."""

    refund: RefundOut
    credit_memo: MemoOut


class RemovedOut(Out):
    """Credit removed from the memo side (U1)."""

    credit_memo: MemoOut
    invoice: InvoiceOut


class CreditRemovedOut(Out):
    """Credit removed from the invoice side (U1): the same, invoice first."""

    invoice: InvoiceOut
    credit_memo: MemoOut


class CustomerOut(Out):
    id: str
    name: str
    email: str | None
    currency: str
    external_source: str | None  # the first of its references (Y10)
    external_id: str | None
    sources: list[str]  # every system the customer has records in (Y10)
    created_at: datetime


class ReferenceOut(Out):
    """Y10: the customer's record in one connected system."""

    id: str
    system: str
    external_id: str
    linked_by: str  # sync | email_rule | admin
    linked_at: datetime


class BalanceOut(Out):
    currency: str
    available_credit: Money


class SummaryMemoOut(Out):
    id: str
    number: str
    currency: str
    total: Money
    remaining_amount: Money
    status: str
    source: str


class RefundedTotalOut(Out):
    """R3: Σ of a customer's refunds not voided, in one currency."""

    currency: str
    amount: Money


class SummaryRefundOut(Out):
    """R3: a refund in the customer's credit history (``voided_at`` once voided)."""

    id: str
    credit_memo_id: str
    credit_memo_number: str
    currency: str
    amount: Money
    method: str
    reference: str | None
    refunded_at: date
    voided_at: datetime | None


class CreditSummaryOut(Out):
    customer_id: str
    balances: list[BalanceOut]
    memos: list[SummaryMemoOut]
    refunded: list[RefundedTotalOut] = Field(
        description="R3: the credit refunded to the customer (refunds not voided), per currency")
    refunds: list[SummaryRefundOut] = Field(
        description="R3: the refunds of the customer's memos, newest first, voided ones too")


class PortalLinkOut(Out):
    url: str
    expires_at: datetime


class VariantOut(Out):
    id: str
    product_id: str
    sku: str
    name: str
    price: Money
    currency: str
    stock_on_hand: int


class ProductOut(Out):
    id: str
    name: str
    variants: list[VariantOut]


class ActivityOut(Out):
    id: str
    variant_id: str
    quantity: int
    kind: str
    source_type: str
    source_id: str
    created_at: datetime


class JournalLineOut(Out):
    account_code: str
    account_name: str
    debit: Money
    credit: Money


class JournalEntryOut(Out):
    id: str
    date: date
    description: str
    source_type: str
    source_id: str
    currency: str
    lines: list[JournalLineOut]


class AccountOut(Out):
    code: str
    name: str
    debit: Money
    credit: Money
    balance: Money


class TrialBalanceOut(Out):
    currency: str
    accounts: list[AccountOut]
    total_debit: Money
    total_credit: Money


class AuditEventOut(Out):
    id: str
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    data: dict[str, Any]


class CustomerPage(Page[CustomerOut]):
    pass


class InvoicePage(Page[InvoiceOut]):
    pass


class MemoPage(Page[MemoOut]):
    pass


class ApplicationPage(Page[ApplicationOut]):
    pass


class ActivityPage(Page[ActivityOut]):
    pass


class JournalEntryPage(Page[JournalEntryOut]):
    pass


class AuditEventPage(Page[AuditEventOut]):
    pass


class SuggestionOut(Out):
    """G2: an advisory credit suggestion; status open, accepted or dismissed."""

    id: str
    customer_id: str
    reason: str
    amount: Money
    currency: str
    invoice_ids: list[str]
    confidence: float = Field(ge=0, le=1)
    explanation: str
    status: str
    credit_memo_id: str | None
    created_at: datetime
    updated_at: datetime


class SuggestionPage(Page[SuggestionOut]):
    pass


class SuggestionRefreshOut(Out):
    customers: int
    created: int
    updated: int
    removed: int
    open: int


class SuggestionAcceptedOut(Out):
    credit_memo: MemoOut


class SuggestionRunOut(Out):
    """A refresh of every customer's suggestions on the job system: queued, running (with
    customers done of the total, known once a worker starts), done or failed."""

    id: str
    status: str = Field(description="queued, running, done or failed")
    requested_by: str
    customers_total: int | None
    customers_done: int
    percent: int = Field(ge=0, le=100)
    created: int
    updated: int
    removed: int
    open: int
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SuggestionRunPage(Page[SuggestionRunOut]):
    pass


def accepted(model: type[Out], answer: object) -> Response:
    """202 with ``answer`` read by ``model`` (checked as every answer is): work sent on to
    an accounting system that has not answered yet (Y11, Y13)."""
    return Response(model.model_validate(answer).model_dump_json(), status_code=202,
                    media_type="application/json")


class TaxComponentOut(Out):
    name: str
    rate: str = Field(examples=["6.25"], description="percent, as a decimal string")


class TaxRateOut(Out):
    """T1: a named rate; a compound one lists its components, whose rates add up to it."""

    id: str
    name: str
    rate: str = Field(examples=["7.25"], description="percent, as a decimal string")
    components: list[TaxComponentOut]
    created_at: datetime


class TaxReportRateOut(Out):
    tax_rate_id: str
    name: str
    charged: Money = Field(description="tax on invoices issued in the period")
    credited: Money = Field(description="tax on credit memos issued in the period")
    net: Money = Field(description="charged - credited")


class TaxReportOut(Out):
    """T4: tax charged and credited per rate over a period: documents count on their issue
    date, and a document voided in the period takes its tax back on its void date (as the
    journal's reversing entry does)."""

    from_: date = Field(validation_alias="from_", serialization_alias="from")
    to: date
    currency: str
    rates: list[TaxReportRateOut]


class CreditAgingRowOut(Out):
    currency: str
    reason: str
    days_0_30: Money = Field(description="remaining credit of memos 0 to 30 days old")
    days_31_60: Money
    days_61_90: Money
    days_over_90: Money
    total: Money


class CreditAgingOut(Out):
    """D3: remaining credit per currency and reason by age in whole days since the issue
    date (UTC) on ``as_of``."""

    as_of: date
    rows: list[CreditAgingRowOut]


class WebhookEndpointOut(Out):
    """D4: a webhook endpoint; ``rotating_until``: while set, the previous secret signs too."""

    id: str
    url: str
    events: list[str] = Field(description="the event types it receives, or [\"*\"]")
    created_at: datetime
    rotating_until: datetime | None


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    """D4: the endpoint just registered, with its signing secret: shown this once."""

    secret: str = Field(description="the signing secret (shown once; keep it)")


class SecretRotatedOut(Out):
    """D4: the new signing secret, shown once; the old one signs until
    ``previous_expires_at`` (24 hours)."""

    id: str
    secret: str
    previous_expires_at: datetime


class WebhookAttemptOut(Out):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str | None = Field(description="the start of the receiver's answer")


class WebhookDeliveryOut(Out):
    """One event to one endpoint: pending (next_attempt_at), succeeded, failed (after
    three days of retries) or cancelled (endpoint deleted)."""

    id: str
    endpoint_id: str
    url: str
    status: Literal["pending", "succeeded", "failed", "cancelled"]
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    attempts: list[WebhookAttemptOut] = Field(description="the latest attempts, newest first")


class EventOut(Out):
    """D4, D5: an event as sent (``data``: the objects after the change) and its
    deliveries."""

    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]
    deliveries: list[WebhookDeliveryOut]


class EventPage(Page[EventOut]):
    pass


class WebhookEndpointPage(Page[WebhookEndpointOut]):
    pass


class IncidentOut(Out):
    """G5: a service incident; empty id lists: it touched every customer / every product."""

    id: str
    started_at: datetime
    ended_at: datetime
    description: str
    customer_ids: list[str]
    variant_ids: list[str]
    created_by: str
    created_at: datetime


class IncidentPage(Page[IncidentOut]):
    pass


class SlaBandOut(Out):
    below: str = Field(description="availability strictly under this percent…", examples=["99.9"])
    credit_percent: str = Field(description="…owes this percent of the month's recurring charge",
                                examples=["10"])


class SlaPolicyOut(Out):
    variant_id: str | None = Field(description="null: the default policy")
    availability_promised: str = Field(examples=["99.9"])
    bands: list[SlaBandOut]


class SlaOut(Out):
    """G5: the SLA policies, per variant and a default one."""

    policies: list[SlaPolicyOut]
