"""tax_reported (T5): whether a synced document's system reported its tax

``invoices.tax_reported`` and ``credit_memos.tax_reported``: false when the accounting system
gave no tax figure for the document (Sage Intacct keeps tax inside its lines unless its Taxes
application records tax entries), so the tax is answered as unknown (null) rather than a
false 0. True for every existing row (native documents always know their tax).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("invoices", "credit_memos"):
        op.add_column(table, sa.Column("tax_reported", sa.Boolean(), nullable=False,
                                       server_default=sa.true()))


def downgrade() -> None:
    for table in ("credit_memos", "invoices"):
        op.drop_column(table, "tax_reported")
