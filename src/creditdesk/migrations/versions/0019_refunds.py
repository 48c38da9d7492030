"""refunds of a native memo's remaining credit (R1, R2)

One row per refund: the memo, the amount in minor units, the method, the day, an optional
reference, who recorded it, and when and by whom it was voided. The memo's own
``refunded_minor`` (0013) holds the sum of its refunds not voided.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditdesk.db.types import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("credit_memo_id", sa.String(length=40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("refunded_at", sa.Date(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.Column("voided_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name="refund_positive"),
        sa.CheckConstraint("method IN ('card', 'bank_transfer', 'check', 'cash', 'other')",
                           name="refund_method"),
        sa.CheckConstraint("(voided_at IS NULL) = (voided_by IS NULL)",
                           name="refund_voided_by"),
        sa.ForeignKeyConstraint(["credit_memo_id"], ["credit_memos.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_refunds_memo", "refunds", ["credit_memo_id", "id"])
    op.create_index("ix_refunds_partner", "refunds", ["partner_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_refunds_partner", table_name="refunds")
    op.drop_index("ix_refunds_memo", table_name="refunds")
    op.drop_table("refunds")
