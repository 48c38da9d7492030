"""application export index (D3): the partner's credit applications newest first

The CSV export of applications reads them in keyset pages (``WHERE partner_id = ? AND
id < ? ORDER BY id DESC``); ``credit_applications`` had no index starting with
``partner_id``, so each page walked the primary key past other partners' rows.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 00:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_credit_applications_partner", "credit_applications",
                    ["partner_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_credit_applications_partner", table_name="credit_applications")
