"""customer_references: one customer, several sources (Y10)

A customer's ids in the connected systems move from ``customers.external_source`` /
``external_id`` (one per customer) to ``customer_references`` (any number per customer,
unique per partner, system and id there), each saying why it points at its customer
(``sync``, ``email_rule``, ``admin``). Every synced customer's id becomes its first
reference (``linked_by = 'sync'``, linked when the customer was created). Synced memos
gain ``customer_reference_id``: the reference of the customer record they name, so an
unlink takes them along, and ``refunded_minor``: the part of their used credit refunded at
the source, never shown as applied (Y4).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditdesk.db.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

REFLECT = {"resolve_fks": False}  # reflect customers alone (see 0009)
SYSTEMS = "('quickbooks_online', 'quickbooks_desktop', 'sage_intacct', 'xero')"


def upgrade() -> None:
    op.create_table(
        "customer_references",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("system", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("linked_by", sa.String(length=20), nullable=False),
        sa.Column("linked_at", creditdesk.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"system IN {SYSTEMS}", name="customer_reference_system"),
        sa.CheckConstraint("linked_by IN ('sync', 'email_rule', 'admin')",
                           name="customer_reference_linked_by"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner_id", "system", "external_id",
                            name="uq_customer_references_external"),
    )
    op.create_index("ix_customer_references_customer_id", "customer_references",
                    ["customer_id"])
    op.execute(
        "INSERT INTO customer_references (id, partner_id, customer_id, system, external_id,"
        " name, email, linked_by, linked_at)"
        " SELECT 'ref_' || id, partner_id, id, external_source, external_id, name, email,"
        " 'sync', created_at FROM customers"
        " WHERE external_id IS NOT NULL AND external_source IS NOT NULL")
    op.add_column("credit_memos",
                  sa.Column("customer_reference_id", sa.String(length=40), nullable=True))
    op.add_column("credit_memos", sa.Column("refunded_minor", sa.BigInteger(), nullable=False,
                                            server_default=sa.text("0")))
    op.create_index("ix_credit_memos_customer_reference", "credit_memos",
                    ["customer_reference_id"])
    # Until now a customer held at most one id per system: a synced memo's reference is the
    # one of its customer in its system.
    op.execute(
        "UPDATE credit_memos SET customer_reference_id = (SELECT r.id FROM customer_references r"
        " WHERE r.partner_id = credit_memos.partner_id"
        " AND r.customer_id = credit_memos.customer_id AND r.system = credit_memos.source)"
        " WHERE source <> 'native'")
    op.drop_index("ux_customers_external", table_name="customers")
    with op.batch_alter_table("customers", reflect_kwargs=REFLECT) as batch:
        batch.drop_column("external_id")
        batch.drop_column("external_source")


def downgrade() -> None:
    with op.batch_alter_table("customers", reflect_kwargs=REFLECT) as batch:
        batch.add_column(sa.Column("external_source", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
    # Each customer keeps its oldest reference; the others can't be held any more.
    op.execute(
        "UPDATE customers SET external_source = (SELECT r.system FROM customer_references r"
        " WHERE r.customer_id = customers.id ORDER BY r.linked_at, r.id LIMIT 1),"
        " external_id = (SELECT r.external_id FROM customer_references r"
        " WHERE r.customer_id = customers.id ORDER BY r.linked_at, r.id LIMIT 1)")
    op.create_index("ux_customers_external", "customers",
                    ["partner_id", "external_source", "external_id"], unique=True,
                    sqlite_where=sa.text("external_id IS NOT NULL"),
                    postgresql_where=sa.text("external_id IS NOT NULL"))
    op.drop_index("ix_credit_memos_customer_reference", table_name="credit_memos")
    op.drop_column("credit_memos", "customer_reference_id")
    op.drop_column("credit_memos", "refunded_minor")  # SQLite 3.35+ drops it in place
    op.drop_index("ix_customer_references_customer_id", table_name="customer_references")
    op.drop_table("customer_references")
