"""invoices from the books (Y9); applications written back to the books (Y11-Y14)

invoices gain ``source``, ``external_id``, ``customer_reference_id``, ``tax_minor`` and
``void_reason``, like credit memos: a synced invoice is upserted by (partner, source,
external_id), and invoice numbers are unique among native invoices only (the systems'
numbers may repeat ours and each other's); a synced invoice may total 0 (a free invoice in
the books). invoice_lines gain ``synced`` and ``reported_quantity``, with quantity and unit
price nullable for synced lines only, as 0009 did for memo lines. sync_runs count invoices
apart from memos. credit_applications gain ``status`` (applied | pending | failed),
``origin`` (user | automatic | portal | source_system) and the write-back's state.
Batch mode: SQLite recreates the tables, PostgreSQL alters them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditdesk.db.types import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

REFLECT = {"resolve_fks": False}
SOURCES = ("source IN ('native', 'quickbooks_online', 'quickbooks_desktop', 'sage_intacct',"
           " 'xero')")
NATIVE_POSITIVE = "quantity > 0 AND unit_price_minor > 0"
NATIVE_AMOUNT = "amount_minor = quantity * unit_price_minor"
NATIVE_ONLY = sa.text("source = 'native'")
EXTERNAL = sa.text("external_id IS NOT NULL")
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("invoices", reflect_kwargs=REFLECT) as batch:
        batch.add_column(sa.Column("source", sa.String(length=40), nullable=False,
                                   server_default="native"))
        batch.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("customer_reference_id", sa.String(length=40),
                                   nullable=True))
        batch.add_column(sa.Column("tax_minor", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
        batch.alter_column("number", existing_type=sa.String(length=40),
                           type_=sa.String(length=60), existing_nullable=False)
        batch.drop_constraint("uq_invoices_partner_number", type_="unique")
        batch.drop_constraint("invoice_total_positive", type_="check")
        batch.create_check_constraint("invoice_total_positive",
                                      "total_minor > 0 OR (source <> 'native' AND total_minor = 0)")
        batch.create_check_constraint("invoice_source", SOURCES)
    op.create_index("ux_invoices_native_number", "invoices", ["partner_id", "number"],
                    unique=True, sqlite_where=NATIVE_ONLY, postgresql_where=NATIVE_ONLY)
    op.create_index("ux_invoices_external", "invoices", ["partner_id", "source", "external_id"],
                    unique=True, sqlite_where=EXTERNAL, postgresql_where=EXTERNAL)
    op.create_index("ix_invoices_partner_source", "invoices", ["partner_id", "source", "id"])
    op.create_index("ix_invoices_customer_reference", "invoices", ["customer_reference_id"])

    with op.batch_alter_table("invoice_lines", reflect_kwargs=REFLECT) as batch:
        batch.add_column(sa.Column("synced", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("reported_quantity", sa.String(length=40), nullable=True))
        batch.alter_column("quantity", existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column("unit_price_minor", existing_type=sa.BigInteger(), nullable=True)
        batch.drop_constraint("invoice_line_positive", type_="check")
        batch.drop_constraint("invoice_line_amount", type_="check")
        batch.create_check_constraint(
            "invoice_line_positive", "synced OR (quantity IS NOT NULL AND unit_price_minor IS "
            f"NOT NULL AND {NATIVE_POSITIVE})")
        batch.create_check_constraint("invoice_line_amount", f"synced OR {NATIVE_AMOUNT}")
        batch.create_check_constraint(
            "invoice_line_kind", "(synced AND quantity IS NULL AND variant_id IS NULL)"
            " OR (NOT synced AND reported_quantity IS NULL)")

    with op.batch_alter_table("sync_runs") as batch:
        for name in ("invoices_created", "invoices_updated", "invoices_voided"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("credit_applications", reflect_kwargs=REFLECT) as batch:
        batch.add_column(sa.Column("status", sa.String(length=20), nullable=False,
                                   server_default="applied"))
        batch.add_column(sa.Column("origin", sa.String(length=20), nullable=False,
                                   server_default="user"))
        batch.add_column(sa.Column("write_back_system", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("write_back_action", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("write_back_key", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("write_back_external_id", sa.String(length=255),
                                   nullable=True))
        batch.add_column(sa.Column("write_back_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("write_back_attempts", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("write_back_sent_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("write_back_next_at", UTCDateTime(), nullable=True))
        batch.create_check_constraint("application_status",
                                      "status IN ('applied', 'pending', 'failed')")
        batch.create_check_constraint(
            "application_origin", "origin IN ('user', 'automatic', 'portal', 'source_system')")
        batch.create_check_constraint(
            "application_write_back",
            "(write_back_system IS NULL AND status = 'applied' AND write_back_action IS NULL)"
            " OR (write_back_system IS NOT NULL"
            " AND (write_back_action IS NULL) = (status = 'applied')"
            " AND (write_back_action IS NULL OR write_back_action IN ('apply', 'remove')))")
    op.create_index("ix_credit_applications_write_back_due", "credit_applications",
                    ["write_back_next_at"], sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_credit_applications_write_back_due", table_name="credit_applications")
    op.execute("DELETE FROM credit_applications WHERE write_back_system IS NOT NULL")
    with op.batch_alter_table("credit_applications", reflect_kwargs=REFLECT) as batch:
        for name in ("application_write_back", "application_origin", "application_status"):
            batch.drop_constraint(name, type_="check")
        for name in ("write_back_next_at", "write_back_sent_at", "write_back_attempts",
                     "write_back_error", "write_back_external_id", "write_back_key",
                     "write_back_action", "write_back_system", "origin", "status"):
            batch.drop_column(name)
    with op.batch_alter_table("sync_runs") as batch:
        for name in ("invoices_voided", "invoices_updated", "invoices_created"):
            batch.drop_column(name)
    op.execute("DELETE FROM invoice_lines WHERE synced")
    # Synced invoices go with their lines (native rows only had them; memos never name them).
    op.execute("DELETE FROM invoices WHERE source <> 'native'")
    with op.batch_alter_table("invoice_lines", reflect_kwargs=REFLECT) as batch:
        batch.drop_constraint("invoice_line_kind", type_="check")
        batch.drop_constraint("invoice_line_amount", type_="check")
        batch.drop_constraint("invoice_line_positive", type_="check")
        batch.alter_column("quantity", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("unit_price_minor", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column("reported_quantity")
        batch.drop_column("synced")
        batch.create_check_constraint("invoice_line_positive", NATIVE_POSITIVE)
        batch.create_check_constraint("invoice_line_amount", NATIVE_AMOUNT)
    op.drop_index("ix_invoices_customer_reference", table_name="invoices")
    op.drop_index("ix_invoices_partner_source", table_name="invoices")
    op.drop_index("ux_invoices_external", table_name="invoices")
    op.drop_index("ux_invoices_native_number", table_name="invoices")
    with op.batch_alter_table("invoices", reflect_kwargs=REFLECT) as batch:
        batch.drop_constraint("invoice_source", type_="check")
        batch.drop_constraint("invoice_total_positive", type_="check")
        batch.create_check_constraint("invoice_total_positive", "total_minor > 0")
        batch.create_unique_constraint("uq_invoices_partner_number", ["partner_id", "number"])
        batch.alter_column("number", existing_type=sa.String(length=60),
                           type_=sa.String(length=40), existing_nullable=False)
        for name in ("void_reason", "tax_minor", "customer_reference_id", "external_id",
                     "source"):
            batch.drop_column(name)
