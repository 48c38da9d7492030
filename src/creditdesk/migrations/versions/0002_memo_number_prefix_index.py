"""memo number prefix search: pattern-ops index on PostgreSQL

The memo list's ``q`` filter is a number prefix (``number LIKE 'CM-12%'``). PostgreSQL can
only use a btree index for LIKE prefixes when the index compares bytes (C collation or a
``*_pattern_ops`` operator class); with the databases' C.UTF-8/en_US collations the plain
``(partner_id, number)`` index was never used and the search scanned every memo (B4: 120 ms
at 1,000,000 memos). ``varchar_pattern_ops`` still serves equality lookups by number.
SQLite keeps the plain index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_credit_memos_partner_number", table_name="credit_memos")
    op.create_index("ix_credit_memos_partner_number", "credit_memos", ["partner_id", "number"],
                    postgresql_ops={"number": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_credit_memos_partner_number", table_name="credit_memos")
    op.create_index("ix_credit_memos_partner_number", "credit_memos", ["partner_id", "number"])
