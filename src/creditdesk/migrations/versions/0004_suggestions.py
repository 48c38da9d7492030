"""suggestions: advisory credit suggestions (G1-G4)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditdesk.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_ids", sa.JSON(), nullable=False),
        sa.Column("confidence_bp", sa.Integer(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence_key", sa.String(length=64), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("credit_memo_id", sa.String(length=40), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", creditdesk.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", creditdesk.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", creditdesk.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="suggestion_amount_positive"),
        sa.CheckConstraint("confidence_bp >= 0 AND confidence_bp <= 10000",
                           name="suggestion_confidence_range"),
        sa.CheckConstraint("status IN ('open', 'accepted', 'dismissed')",
                           name="suggestion_status"),
        sa.CheckConstraint("status <> 'accepted' OR credit_memo_id IS NOT NULL",
                           name="suggestion_accepted_has_memo"),
        sa.ForeignKeyConstraint(["credit_memo_id"], ["credit_memos.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner_id", "evidence_key", name="uq_suggestions_partner_evidence"),
    )
    op.create_index("ix_suggestions_partner_customer_status", "suggestions",
                    ["partner_id", "customer_id", "status", "id"])
    op.create_index("ix_suggestions_partner_status", "suggestions", ["partner_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_suggestions_partner_status", table_name="suggestions")
    op.drop_index("ix_suggestions_partner_customer_status", table_name="suggestions")
    op.drop_table("suggestions")
