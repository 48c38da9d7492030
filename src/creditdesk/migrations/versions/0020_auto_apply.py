"""apply available credit to new invoices (AU1): the preference and its exceptions

One row per partner that set it (none: off, the default) and its exceptions, the customers
that get the opposite of it, exactly as ``portal_credit_application`` (0017).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditdesk.db.types import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auto_apply",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    op.create_table(
        "auto_apply_exceptions",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("partner_id", "customer_id"),
    )


def downgrade() -> None:
    op.drop_table("auto_apply_exceptions")
    op.drop_table("auto_apply")
