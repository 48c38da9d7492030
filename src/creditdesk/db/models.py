"""The tables: thin rows, every one scoped by ``partner_id``.

Amounts are ``*_minor`` BIGINTs with a currency column; invariants the rules rely on are
stated again as database constraints (the second line of defence, ARCHITECTURE.md).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from creditdesk.db.types import UTCDateTime

ID = String(40)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), int: BigInteger(), str: String(255)}


class Partner(Base):
    __tablename__ = "partners"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str]
    created_at: Mapped[datetime]


class Counter(Base):
    """Per-partner sequences for memo and invoice numbers (C3, I2)."""

    __tablename__ = "counters"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    email: Mapped[str] = mapped_column(unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]  # set: no sign-in, no sessions, keys revoked
    __table_args__ = (CheckConstraint("role IN ('admin', 'staff')", name="user_role"),)


class ApiKey(Base):
    """A partner's API key, kept only as a SHA-256 hash (the key itself is random)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str]
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))  # a key acting as a user


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    name: Mapped[str]
    email: Mapped[str | None]
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (Index("ix_customers_partner_name", "partner_id", "name"),)


SYSTEMS = "('quickbooks_online', 'quickbooks_desktop', 'sage_intacct', 'xero')"


class CustomerReference(Base):
    """Y10: a customer's record in one connected system (its id there). A synced record is
    matched by (partner, system, external id); one customer may hold any number of them.
    ``linked_by`` says why the reference points at this customer: ``sync`` (created with
    it), ``email_rule`` (the same billing email) or ``admin`` (a merge). ``name`` and
    ``email`` are the system's as first synced: an unlink creates a customer from them."""

    __tablename__ = "customer_references"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    system: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str]
    email: Mapped[str | None]
    linked_by: Mapped[str] = mapped_column(String(20))
    linked_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("partner_id", "system", "external_id",
                         name="uq_customer_references_external"),
        CheckConstraint(f"system IN {SYSTEMS}", name="customer_reference_system"),
        CheckConstraint("linked_by IN ('sync', 'email_rule', 'admin')",
                        name="customer_reference_linked_by"),
    )


class Product(Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str]
    created_at: Mapped[datetime]
    variants: Mapped[list[Variant]] = relationship(order_by="Variant.sku")


class Variant(Base):
    __tablename__ = "variants"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    name: Mapped[str]
    price_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    # Kept equal to the sum of the variant's inventory activities in the same transaction (J3).
    stock_on_hand: Mapped[int]
    created_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("partner_id", "sku", name="uq_variants_partner_sku"),
        CheckConstraint("price_minor >= 0", name="variant_price_nonnegative"),
    )


class Invoice(Base):
    """An invoice: native (issued here), or synced from an accounting system (Y9: read-only
    here, upserted by (partner, source, external_id)).

    A synced invoice's figures are the system's: ``paid_minor`` holds what the system has
    settled on it (total - the balance due it reports: its payments and the credits applied
    there, written-back applications included), ``credited_minor`` stays 0, so its balance
    due is the system's wherever balances are summed. ``tax_minor`` is the tax the system
    reports (T5)."""

    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(String(60))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    issue_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    total_minor: Mapped[int]
    paid_minor: Mapped[int] = mapped_column(default=0)
    credited_minor: Mapped[int] = mapped_column(default=0)
    tax_minor: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # T5: false when a synced invoice's system reported no tax figure (tax unknown, not 0)
    tax_reported: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # T1: the lines' prices include tax (net = gross - tax); exclusive by default
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40), default="native",
                                        server_default=text("'native'"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    # Y10: the customer record of the system this synced invoice names (as on memos).
    customer_reference_id: Mapped[str | None] = mapped_column(ID)
    issued_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    lines: Mapped[list[InvoiceLine]] = relationship(order_by="InvoiceLine.position")
    __table_args__ = (
        Index("ux_invoices_native_number", "partner_id", "number", unique=True,
              sqlite_where=text("source = 'native'"), postgresql_where=text("source = 'native'")),
        Index("ux_invoices_external", "partner_id", "source", "external_id", unique=True,
              sqlite_where=text("external_id IS NOT NULL"),
              postgresql_where=text("external_id IS NOT NULL")),
        Index("ix_invoices_partner_id", "partner_id", "id"),
        Index("ix_invoices_partner_source", "partner_id", "source", "id"),
        Index("ix_invoices_customer_status", "customer_id", "status"),
        Index("ix_invoices_customer_reference", "customer_reference_id"),
        CheckConstraint("total_minor > 0 OR (source <> 'native' AND total_minor = 0)",
                        name="invoice_total_positive"),
        CheckConstraint("paid_minor >= 0 AND credited_minor >= 0", name="invoice_nonnegative"),
        # I4/A2: payments and credit never exceed the total.
        CheckConstraint("paid_minor + credited_minor <= total_minor", name="invoice_not_overpaid"),
        CheckConstraint("status IN ('draft', 'open', 'partially_paid', 'paid', 'void')",
                        name="invoice_status"),
        CheckConstraint(
            "source IN ('native', 'quickbooks_online', 'quickbooks_desktop', 'sage_intacct',"
            " 'xero')", name="invoice_source"),
    )


class InvoiceLine(Base):
    """An invoice's line: native ones follow C4; synced ones (Y9) are the system's, as
    ``CreditMemoLine`` describes."""

    __tablename__ = "invoice_lines"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"),
                                            index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int | None]
    unit_price_minor: Mapped[int | None]
    amount_minor: Mapped[int]
    variant_id: Mapped[str | None] = mapped_column(ForeignKey("variants.id"))
    synced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reported_quantity: Mapped[str | None] = mapped_column(String(40))
    # T1/T2: the line's rate and its tax as computed when the line was saved (stored, so
    # figures never get recomputed differently later); amount_minor stays as entered
    tax_rate_id: Mapped[str | None] = mapped_column(
        ForeignKey("tax_rates.id", name="fk_invoice_lines_tax_rate"))
    tax_rate_name: Mapped[str | None] = mapped_column(String(100))  # as the document shows it
    tax_minor: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    __table_args__ = (
        CheckConstraint("synced OR (quantity IS NOT NULL AND unit_price_minor IS NOT NULL"
                        " AND quantity > 0 AND unit_price_minor > 0)",
                        name="invoice_line_positive"),
        CheckConstraint("synced OR amount_minor = quantity * unit_price_minor",
                        name="invoice_line_amount"),
        CheckConstraint("(synced AND quantity IS NULL AND variant_id IS NULL)"
                        " OR (NOT synced AND reported_quantity IS NULL)",
                        name="invoice_line_kind"),
    )


class TaxRate(Base):
    """T1: a partner's named tax rate; ``rate_e4`` is its whole percentage in
    ten-thousandths of a percent (7.25 % -> 72500). A compound rate lists its components
    (whose percentages add up to it); a simple one has none. Rates never change once made:
    documents keep the tax computed with them."""

    __tablename__ = "tax_rates"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    name: Mapped[str] = mapped_column(String(100))
    rate_e4: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    components: Mapped[list[TaxRateComponent]] = relationship(
        order_by="TaxRateComponent.position")
    __table_args__ = (
        Index("ux_tax_rates_partner_name", "partner_id", "name", unique=True),
        CheckConstraint("rate_e4 >= 0 AND rate_e4 <= 1000000", name="tax_rate_range"),
    )


class TaxRateComponent(Base):
    """One component of a compound rate (T1: no tax on tax; the percentages add)."""

    __tablename__ = "tax_rate_components"
    tax_rate_id: Mapped[str] = mapped_column(ForeignKey("tax_rates.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    rate_e4: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("rate_e4 >= 0 AND rate_e4 <= 1000000", name="tax_component_range"),
    )


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount_minor: Mapped[int]
    paid_at: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str]
    __table_args__ = (CheckConstraint("amount_minor > 0", name="payment_positive"),)


MEMO_STATUSES = "('draft', 'issued', 'partially_applied', 'applied', 'void')"


class CreditMemo(Base):
    __tablename__ = "credit_memos"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(String(60))
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    issue_date: Mapped[date | None] = mapped_column(Date)
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    total_minor: Mapped[int]
    applied_minor: Mapped[int] = mapped_column(default=0)
    # Y4: of a synced memo's used credit (``applied_minor`` = total - remaining, as the
    # system reports it), the part refunded at the source rather than applied to invoices.
    refunded_minor: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # T2: the tax in total_minor (Σ of the lines' stored tax), and whether prices include it
    tax_minor: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # T5: false when a synced memo's system reported no tax figure (tax unknown, not 0)
    tax_reported: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notes: Mapped[str | None] = mapped_column(Text)  # internal: never on a document (D1)
    source: Mapped[str] = mapped_column(String(40), default="native")
    external_id: Mapped[str | None]
    # D1: the note the customer sees (the PDF, the portal); ``notes`` stays internal
    customer_note: Mapped[str | None] = mapped_column(Text)
    # Y10: the customer record of the system this synced memo names (None on native memos),
    # so that unlinking that reference takes its memos along. No foreign key: SQLite can't
    # add one without recreating this table; references are never deleted.
    customer_reference_id: Mapped[str | None] = mapped_column(ID)
    issued_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    lines: Mapped[list[CreditMemoLine]] = relationship(order_by="CreditMemoLine.position")
    # R1: its refunds, voided ones included, oldest first (read only: written as rows)
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.id", viewonly=True)
    __table_args__ = (
        Index("ux_credit_memos_native_number", "partner_id", "number", unique=True,
              sqlite_where=text("source = 'native'"), postgresql_where=text("source = 'native'")),
        Index("ux_credit_memos_external", "partner_id", "source", "external_id", unique=True,
              sqlite_where=text("external_id IS NOT NULL"),
              postgresql_where=text("external_id IS NOT NULL")),
        Index("ix_credit_memos_partner_id", "partner_id", "id"),
        Index("ix_credit_memos_partner_status", "partner_id", "status", "id"),
        Index("ix_credit_memos_partner_customer", "partner_id", "customer_id", "id"),
        Index("ix_credit_memos_partner_source", "partner_id", "source", "id"),
        Index("ix_credit_memos_customer_status", "customer_id", "status"),
        Index("ix_credit_memos_invoice", "invoice_id"),
        Index("ix_credit_memos_customer_reference", "customer_reference_id"),
        CheckConstraint("total_minor > 0", name="memo_total_positive"),
        # C7/A2 in the database: 0 <= applied <= total.
        CheckConstraint("applied_minor >= 0 AND applied_minor <= total_minor",
                        name="memo_applied_within_total"),
        CheckConstraint(f"status IN {MEMO_STATUSES}", name="memo_status"),
        # Statuses agree with the amounts (L3, U2, L4).
        CheckConstraint(
            "(status IN ('draft', 'issued', 'void') AND applied_minor = 0)"
            " OR (status = 'partially_applied' AND applied_minor > 0"
            " AND applied_minor < total_minor)"
            " OR (status = 'applied' AND applied_minor = total_minor)",
            name="memo_status_matches_amounts"),
        CheckConstraint("status <> 'void' OR (void_reason IS NOT NULL AND void_reason <> '')",
                        name="memo_void_has_reason"),
        CheckConstraint(
            "source IN ('native', 'quickbooks_online', 'quickbooks_desktop', 'sage_intacct',"
            " 'xero')", name="memo_source"),
    )


# S2's number search is a case-insensitive prefix: upper(number) LIKE 'CM-12%'. Synced
# memos keep their accounting system's number as it is, hence upper(); text_pattern_ops on
# PostgreSQL because a LIKE prefix can use a btree only when it compares bytes. Migration
# 0007 sets the statistics target of its upper(number) column to 1000 on PostgreSQL (not
# expressible here): with 100 buckets some prefixes were planned as a primary-key walk.
Index("ix_credit_memos_partner_number_upper", CreditMemo.partner_id,
      func.upper(CreditMemo.number).label("number_upper"),
      postgresql_ops={"number_upper": "text_pattern_ops"})


class CreditMemoLine(Base):
    """A memo's line. Native lines follow C4 (whole quantity times exact unit price = amount).
    Synced lines (``synced``; Y3: read-only) are the accounting system's lines as it reports
    them: its quantity as exact decimal text (``reported_quantity``, e.g. "1.5"), a unit
    price only when it has one in whole minor units, and its amount (zero or negative
    allowed); they never name a variant (nothing is restocked here)."""

    __tablename__ = "credit_memo_lines"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    credit_memo_id: Mapped[str] = mapped_column(
        ForeignKey("credit_memos.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int | None]
    unit_price_minor: Mapped[int | None]
    amount_minor: Mapped[int]
    variant_id: Mapped[str | None] = mapped_column(ForeignKey("variants.id"))
    synced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reported_quantity: Mapped[str | None] = mapped_column(String(40))
    # C6: the invoice line this line credits (a memo started from an invoice); C5 caps the
    # quantity of non-void memo lines per invoice line at the invoice line's quantity.
    invoice_line_id: Mapped[str | None] = mapped_column(
        ForeignKey("invoice_lines.id", name="fk_credit_memo_lines_invoice_line"),
        index=True)
    # T1-T3: the line's rate and its stored tax (a line crediting an invoice line carries
    # that line's rate; the one completing it took exactly the tax left of it)
    tax_rate_id: Mapped[str | None] = mapped_column(
        ForeignKey("tax_rates.id", name="fk_credit_memo_lines_tax_rate"))
    tax_rate_name: Mapped[str | None] = mapped_column(String(100))  # as the document shows it
    tax_minor: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    __table_args__ = (
        CheckConstraint("synced OR (quantity IS NOT NULL AND unit_price_minor IS NOT NULL"
                        " AND quantity > 0 AND unit_price_minor > 0)", name="memo_line_positive"),
        CheckConstraint("synced OR amount_minor = quantity * unit_price_minor",
                        name="memo_line_amount"),
        CheckConstraint("(synced AND quantity IS NULL AND variant_id IS NULL)"
                        " OR (NOT synced AND reported_quantity IS NULL)", name="memo_line_kind"),
    )


class CreditApplication(Base):
    """A3: one application of a memo's credit to an invoice.

    Native applications are ``applied`` at once. An application of synced credit to a
    synced invoice (Y11) names the system it is written back to (``write_back_system``) and
    is ``pending`` while a write-back (``write_back_action``: apply, or remove) waits for
    the system's answer, ``applied`` once the system made it (``write_back_external_id``:
    its Payment, Allocation, ARPYMT or ReceivePayment), ``failed`` when the system refused
    it or never received it (``write_back_error``: its words). ``write_back_key`` is the
    write's idempotency key, the same on every attempt (Y12). ``origin`` ``source_system``:
    an application made in the system directly, found by a sync (Y14)."""

    __tablename__ = "credit_applications"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    credit_memo_id: Mapped[str] = mapped_column(ForeignKey("credit_memos.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount_minor: Mapped[int]
    applied_at: Mapped[datetime]
    applied_by: Mapped[str]
    status: Mapped[str] = mapped_column(String(20), default="applied",
                                        server_default=text("'applied'"))
    origin: Mapped[str] = mapped_column(String(20), default="user",
                                        server_default=text("'user'"))
    write_back_system: Mapped[str | None] = mapped_column(String(40))
    write_back_action: Mapped[str | None] = mapped_column(String(10))
    write_back_key: Mapped[str | None] = mapped_column(String(80))
    write_back_external_id: Mapped[str | None] = mapped_column(String(255))
    write_back_error: Mapped[str | None] = mapped_column(Text)
    write_back_attempts: Mapped[int] = mapped_column(Integer, default=0,
                                                     server_default=text("0"))
    write_back_sent_at: Mapped[datetime | None]
    write_back_next_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_credit_applications_memo_invoice", "credit_memo_id", "invoice_id"),
        Index("ix_credit_applications_partner", "partner_id", "id"),  # D3's export
        Index("ix_credit_applications_write_back_due", "write_back_next_at",
              sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
        CheckConstraint("amount_minor > 0", name="application_positive"),
        CheckConstraint("status IN ('applied', 'pending', 'failed')", name="application_status"),
        CheckConstraint("origin IN ('user', 'automatic', 'portal', 'source_system')",
                        name="application_origin"),
        CheckConstraint(
            "(write_back_system IS NULL AND status = 'applied' AND write_back_action IS NULL)"
            " OR (write_back_system IS NOT NULL"
            " AND (write_back_action IS NULL) = (status = 'applied')"
            " AND (write_back_action IS NULL OR write_back_action IN ('apply', 'remove')))",
            name="application_write_back"),
    )


class Refund(Base):
    """R1: credit of a native memo paid back to the customer (recorded here; the money moves
    outside CreditDesk). ``voided_at``/``voided_by``: R2, the refund taken back. While it is
    not voided its amount is part of the memo's ``refunded_minor`` (and ``applied_minor``)."""

    __tablename__ = "refunds"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    credit_memo_id: Mapped[str] = mapped_column(ForeignKey("credit_memos.id"))
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20))
    refunded_at: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str]
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[str | None]
    __table_args__ = (
        Index("ix_refunds_memo", "credit_memo_id", "id"),
        Index("ix_refunds_partner", "partner_id", "id"),
        CheckConstraint("amount_minor > 0", name="refund_positive"),
        CheckConstraint("method IN ('card', 'bank_transfer', 'check', 'cash', 'other')",
                        name="refund_method"),
        CheckConstraint("(voided_at IS NULL) = (voided_by IS NULL)", name="refund_voided_by"),
    )


class JournalEntry(Base):
    """A posted, never edited, two-legged entry: balanced by construction (J1)."""

    __tablename__ = "journal_entries"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    entry_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    source_type: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(ID)
    debit_account: Mapped[str] = mapped_column(String(10))
    credit_account: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    __table_args__ = (
        # L2: one issue posting (and one reversal) per source, whatever the retries or races.
        UniqueConstraint("kind", "source_id", name="uq_journal_kind_source"),
        Index("ix_journal_partner_source", "partner_id", "source_type", "source_id"),
        Index("ix_journal_partner_id", "partner_id", "id"),
        CheckConstraint("amount_minor > 0", name="journal_amount_positive"),
        CheckConstraint("debit_account <> credit_account", name="journal_two_accounts"),
    )


class InventoryActivity(Base):
    """One stock movement; stock on hand is their sum (J3)."""

    __tablename__ = "inventory_activities"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    source_type: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(ID)
    source_line_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime]
    __table_args__ = (
        # L2: a line restocks (or is reversed) at most once.
        Index("ux_inventory_kind_line", "kind", "source_line_id", unique=True,
              sqlite_where=text("source_line_id IS NOT NULL"),
              postgresql_where=text("source_line_id IS NOT NULL")),
        Index("ix_inventory_partner_variant", "partner_id", "variant_id", "id"),
        Index("ix_inventory_partner_source", "partner_id", "source_id"),
        CheckConstraint("quantity <> 0", name="inventory_quantity_nonzero"),
    )


class AuditEvent(Base):
    """E1: who did what to which entity, and when."""

    __tablename__ = "audit_events"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    at: Mapped[datetime]
    actor: Mapped[str]
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(ID)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    __table_args__ = (
        Index("ix_audit_partner_entity", "partner_id", "entity_type", "entity_id", "id"),
        Index("ix_audit_partner_id", "partner_id", "id"),
    )


class IdempotencyRecord(Base):
    """E2: the answer to a request carrying an Idempotency-Key, per partner.

    A request with an effect inserts its row as the first statement of its transaction and
    fills in the answer just before that transaction commits: the row is committed with the
    effect or not at all, so no state survives a crash but "done" or "never happened".
    """

    __tablename__ = "idempotency_records"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    key: Mapped[str]
    request_hash: Mapped[str] = mapped_column(String(64))
    # NULL only inside the transaction that inserted the row (its answer is written last).
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_content_type: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(index=True)  # expiry: 24 h after this
    __table_args__ = (UniqueConstraint("partner_id", "key",
                                       name="uq_idempotency_partner_key"),)


class CreditVisibility(Base):
    """P2: whether customers see their credit in the portal (one row per partner; none = off)."""

    __tablename__ = "credit_visibility"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    show_to_all: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class CreditVisibilityException(Base):
    """P2: a customer that gets the opposite of the partner's "show to all" setting."""

    __tablename__ = "credit_visibility_exceptions"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    created_at: Mapped[datetime]


class PortalCreditApplication(Base):
    """P5: whether customers may apply their credit in the portal (one row per partner;
    none = off)."""

    __tablename__ = "portal_credit_application"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class PortalCreditApplicationException(Base):
    """P5: a customer that gets the opposite of the partner's portal credit application."""

    __tablename__ = "portal_credit_application_exceptions"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    created_at: Mapped[datetime]


class AutoApply(Base):
    """AU1: whether available credit is applied to new invoices when they are issued (one row
    per partner; none = off)."""

    __tablename__ = "auto_apply"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class AutoApplyException(Base):
    """AU1: a customer that gets the opposite of the partner's automatic application."""

    __tablename__ = "auto_apply_exceptions"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    created_at: Mapped[datetime]


class PortalToken(Base):
    """A one-time Customer Portal sign-in link, kept only as a SHA-256 hash."""

    __tablename__ = "portal_tokens"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignInCounter(Base):
    """Dashboard sign-in attempts of one account or one client address (SHA-256 of it) in
    the window that started at ``window_started_at``: claimed before a password is checked
    (``services/access/sign_in.py``), so parallel guesses can't overrun the limit."""

    __tablename__ = "sign_in_counters"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer)


WEB_SESSION_KINDS = ("dashboard", "portal")


class WebSession(Base):
    """A signed-in dashboard user's or portal customer's session (E4). The cookie carries
    only a random token; this row is found by the token's SHA-256. ``data`` holds the CSRF
    token and the pending flash messages (and, for the portal, the customer's name);
    ``expires_at`` is the earlier of the absolute and the idle expiry."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_web_sessions_user", "user_id"),
        Index("ix_web_sessions_expires", "expires_at"),
        CheckConstraint("kind IN ('dashboard', 'portal')", name="web_session_kind"),
        CheckConstraint("(kind = 'dashboard') = (user_id IS NOT NULL)",
                        name="web_session_dashboard_user"),
        CheckConstraint("(kind = 'portal') = (customer_id IS NOT NULL)",
                        name="web_session_portal_customer"),
    )


SUGGESTION_STATUSES = ("open", "accepted", "dismissed")


class Suggestion(Base):
    """G1-G3: an advisory credit suggestion; ``evidence_key`` keeps a dismissal dismissed."""

    __tablename__ = "suggestions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    reason: Mapped[str] = mapped_column(String(40))
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    # The invoice a memo would be linked to (the later duplicate, the mispriced invoice…).
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    invoice_ids: Mapped[list[str]] = mapped_column(JSON)
    confidence_bp: Mapped[int] = mapped_column(Integer)  # 0..10000, exact on both databases
    explanation: Mapped[str] = mapped_column(Text)
    evidence_key: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    credit_memo_id: Mapped[str | None] = mapped_column(ForeignKey("credit_memos.id"))
    decided_by: Mapped[str | None]
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("partner_id", "evidence_key", name="uq_suggestions_partner_evidence"),
        Index("ix_suggestions_partner_customer_status", "partner_id", "customer_id", "status",
              "id"),
        Index("ix_suggestions_partner_status", "partner_id", "status", "id"),
        CheckConstraint("amount_minor > 0", name="suggestion_amount_positive"),
        CheckConstraint("confidence_bp >= 0 AND confidence_bp <= 10000",
                        name="suggestion_confidence_range"),
        CheckConstraint("status IN ('open', 'accepted', 'dismissed')", name="suggestion_status"),
        CheckConstraint("status <> 'accepted' OR credit_memo_id IS NOT NULL",
                        name="suggestion_accepted_has_memo"),
    )


SUGGESTION_RUN_STATUSES = ("queued", "running", "done", "failed")


class SuggestionRun(Base):
    """G1/G5 (issue 16): a partner-wide refresh of suggestions, run by the job system.

    The workers advance ``customers_done`` and ``cursor`` (the last customer id refreshed, in
    id order) after each batch, so the page can show progress and a run whose worker died
    resumes after the last batch it finished rather than from the start.
    """

    __tablename__ = "suggestion_runs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    status: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(255))
    customers_total: Mapped[int | None] = mapped_column(Integer)
    customers_done: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(String(40))
    # Each claim by a worker counts one; a worker writes progress only under its own claim,
    # so one that stalled and was overtaken stops rather than writing over the other.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_suggestion_runs_partner", "partner_id", "id"),
        Index("ix_suggestion_runs_status", "status", "queued_at"),
        # Requests meet in the one active run: a partner's suggestions refresh once at a time.
        Index("ux_suggestion_runs_one_active", "partner_id", unique=True,
              sqlite_where=text("status IN ('queued', 'running')"),
              postgresql_where=text("status IN ('queued', 'running')")),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                        name="suggestion_run_status"),
    )


INTEGRATION_STATUSES = ("('pending_authorization', 'connected', 'needs_reconnection',"
                        " 'disconnected')")


class Integration(Base):
    """A partner's connection to an accounting system (Y1, Y2, Y7).

    Tokens and credentials are one Fernet token (``credentials_encrypted``); the sync
    cursor is the provider's own JSON, advanced only in the transaction that commits a batch.
    """

    __tablename__ = "integrations"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    provider: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    region: Mapped[str | None] = mapped_column(String(10))
    realm_id: Mapped[str | None]  # QBO realm, Xero tenant, Intacct company
    company_name: Mapped[str | None]
    oauth_state_hash: Mapped[str | None] = mapped_column(String(64))
    # "dashboard": the callback takes the person back to the Integrations page; else JSON
    oauth_started_from: Mapped[str | None] = mapped_column(String(20))
    credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_sync_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    disconnected_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_integrations_partner_id", "partner_id", "id"),
        Index("ix_integrations_provider_realm", "provider", "realm_id"),
        Index("ux_integrations_oauth_state", "oauth_state_hash", unique=True,
              sqlite_where=text("oauth_state_hash IS NOT NULL"),
              postgresql_where=text("oauth_state_hash IS NOT NULL")),
        CheckConstraint(f"status IN {INTEGRATION_STATUSES}", name="integration_status"),
        CheckConstraint(
            "provider IN ('quickbooks_online', 'quickbooks_desktop', 'sage_intacct', 'xero')",
            name="integration_provider"),
    )


class SyncRun(Base):
    """Y8: one sync of one integration, with its counts and per-record errors."""

    __tablename__ = "sync_runs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | manual | webhook | retry
    status: Mapped[str] = mapped_column(String(20))
    queued_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    voided: Mapped[int] = mapped_column(Integer, default=0)
    # Y9: invoices landed by the run (``created``/``updated``/``voided`` count memos;
    # ``fetched`` counts every record read).
    invoices_created: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    invoices_updated: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    invoices_voided: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # A targeted run (a webhook named the memos): external id → "changed" | "deleted".
    # None: an incremental run from the integration's cursor.
    targets: Mapped[dict[str, str] | None] = mapped_column(JSON)
    __table_args__ = (
        Index("ix_sync_runs_integration", "integration_id", "id"),
        Index("ix_sync_runs_status", "status", "queued_at"),
        # The queueing lock: at most one run of a connection at a time, on every runner.
        Index("ux_sync_runs_one_running", "integration_id", unique=True,
              sqlite_where=text("status = 'running'"),
              postgresql_where=text("status = 'running'")),
        # Requests for a run meet in the one queued run (services/books/sync.py ``request_run``).
        Index("ux_sync_runs_one_queued", "integration_id", unique=True,
              sqlite_where=text("status = 'queued'"),
              postgresql_where=text("status = 'queued'")),
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'partial', 'failed')",
                        name="sync_run_status"),
    )


class QbwcSession(Base):
    """One QuickBooks Web Connector conversation (a ticket from ``authenticate``): where it is
    (deleted → memos → done/failed), its iterator, the cursor it started from and its last
    error for ``getLastError``. Short-lived; only the ticket's SHA-256 is stored."""

    __tablename__ = "qbwc_sessions"
    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("sync_runs.id"))
    stage: Mapped[str] = mapped_column(String(20))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_qbwc_sessions_integration", "integration_id", "created_at"),
        Index("ix_qbwc_sessions_expires", "expires_at"),
        CheckConstraint("stage IN ('deleted', 'memos', 'done', 'failed', 'closed')",
                        name="qbwc_session_stage"),
    )


class ApprovalThreshold(Base):
    """AP1: issuing a memo of ``currency`` whose total is at or above ``amount_minor`` needs
    another administrator's approval (one row per partner and currency; none: no approval)."""

    __tablename__ = "approval_thresholds"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount_minor: Mapped[int]
    updated_at: Mapped[datetime]
    __table_args__ = (CheckConstraint("amount_minor > 0", name="approval_threshold_positive"),)


class ApprovalRequest(Base):
    """AP1: a request to approve issuing a draft memo, and the decision on it. A memo has at
    most one open request (pending or approved); editing the draft withdraws it."""

    __tablename__ = "approval_requests"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    credit_memo_id: Mapped[str] = mapped_column(ForeignKey("credit_memos.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    total_minor: Mapped[int]  # the memo's total when it was asked (what is approved)
    currency: Mapped[str] = mapped_column(String(3))
    requested_by: Mapped[str]  # the actor's name, as the audit trail shows it
    requested_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    request_comment: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None]
    decided_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_approval_requests_memo", "credit_memo_id", "requested_at"),
        Index("ix_approval_requests_partner_status", "partner_id", "status"),
        # the second line behind the memo lock: one open request per memo
        Index("ux_approval_requests_one_open", "credit_memo_id", unique=True,
              sqlite_where=text("status IN ('pending', 'approved')"),
              postgresql_where=text("status IN ('pending', 'approved')")),
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn')",
                        name="approval_request_status"),
    )


class PartnerProfile(Base):
    """D1: what a memo's PDF shows of the partner: legal name, address lines, email, phone
    and an optional logo (PNG or JPEG bytes, checked when uploaded)."""

    __tablename__ = "partner_profiles"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    legal_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("(logo IS NULL) = (logo_type IS NULL)", name="profile_logo_typed"),
        CheckConstraint("logo_type IS NULL OR logo_type IN ('image/png', 'image/jpeg')",
                        name="profile_logo_type"),
    )


class EmailSettings(Base):
    """D2: the partner's SMTP server. The password is sealed (``services.common.vault``) and
    never answered (write-only)."""

    __tablename__ = "email_settings"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    host: Mapped[str]
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(10))
    username: Mapped[str | None]
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    from_address: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("port BETWEEN 1 AND 65535", name="email_settings_port"),
        CheckConstraint("security IN ('none', 'starttls', 'tls')",
                        name="email_settings_security"),
    )


class MemoDelivery(Base):
    """D2: one email of a memo with its PDF. ``queued`` until the job takes it; ``sending``
    from the committed step just before the SMTP conversation (``sending_since``) until
    its outcome is recorded; ``sent``; ``failed`` (the server's answer in ``last_error``,
    tried again at ``next_attempt_at``); ``gave_up`` 24 hours after it was asked for.
    ``message_id`` is its own, the same on every attempt, so a copy that did arrive is
    recognisable (decisions.md, "Memo email: at most once")."""

    __tablename__ = "memo_deliveries"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    credit_memo_id: Mapped[str] = mapped_column(ForeignKey("credit_memos.id", ondelete="CASCADE"))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    sending_since: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("message_id", name="ux_memo_deliveries_message_id"),
        Index("ix_memo_deliveries_memo", "credit_memo_id", "created_at"),
        Index("ix_memo_deliveries_due", "next_attempt_at",
              sqlite_where=text("status IN ('queued', 'failed', 'sending')"),
              postgresql_where=text("status IN ('queued', 'failed', 'sending')")),
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed', 'gave_up')",
                        name="delivery_status"),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="delivery_sent_at"),
    )


class WebhookEndpoint(Base):
    """D4: a partner's receiver of outbound events: its URL, the types it wants (a list, or
    ``["*"]``), its signing secret sealed, and during a rotation the previous one until it
    expires (both sign meanwhile). Deleting sets ``deleted_at`` (its deliveries stay)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret_sealed: Mapped[str] = mapped_column(Text)
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_webhook_endpoints_partner", "partner_id", "deleted_at"),)


class Event(Base):
    """D5: the outbox. Written in the transaction of the change it describes; ``body`` is
    the exact JSON sent (every attempt and replay sends the same bytes)."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    type: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_events_partner", "partner_id", "id"),)


class WebhookDelivery(Base):
    """D4: one event to one endpoint: ``pending`` (due at ``next_attempt_at``; a claimed one
    is leased by moving it ahead) until a 2xx (``succeeded``) or ``give_up_at`` passes
    (``failed``); ``cancelled`` when its endpoint is deleted."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None]
    give_up_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_delivery"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'cancelled')",
                        name="webhook_delivery_status"),
    )


class WebhookAttempt(Base):
    """D4: one HTTP attempt of a delivery: the status code or the error, a bounded excerpt
    of the answer, how long it took."""

    __tablename__ = "webhook_attempts"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "at"),)


class Incident(Base):
    """G5: a service incident the partner recorded: when, what, and whom it touched (empty
    lists: every customer / every product). Ids are checked against the partner's own when
    recorded; a customer merged away later simply matches nothing."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    description: Mapped[str] = mapped_column(Text)
    customer_ids: Mapped[list[str]] = mapped_column(JSON)
    variant_ids: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_incidents_partner_started", "partner_id", "started_at", "id"),
        CheckConstraint("ended_at > started_at", name="incident_ends_after_start"),
    )


class SlaPolicy(Base):
    """G5: the availability a partner promises for a product (``variant_id``; NULL: the
    default policy) and the credit per band of shortfall. Percents are integer
    ten-thousandths of a percent; ``bands`` is ``[{"below", "credit_percent"}]``, highest
    ``below`` first."""

    __tablename__ = "sla_policies"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    variant_id: Mapped[str | None] = mapped_column(ForeignKey("variants.id"))
    availability_promised: Mapped[int] = mapped_column(Integer)
    bands: Mapped[list[dict[str, int]]] = mapped_column(JSON)
    updated_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_sla_policies_partner", "partner_id", "variant_id"),
        CheckConstraint("availability_promised > 0 AND availability_promised <= 1000000",
                        name="sla_policy_promised_range"),
    )
