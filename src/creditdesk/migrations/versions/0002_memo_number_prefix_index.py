"""memo number search: an index on (partner_id, upper(number))

The memo list's ``q`` filter is a case-insensitive number prefix
(``upper(number) LIKE 'CM-12%'``; synced memos keep their accounting system's numbering).
The plain ``(partner_id, number)`` index of 0001 could serve neither the upper() nor, on
PostgreSQL with a non-C collation, a LIKE prefix at all: the search scanned every memo
(B4: 120 ms at 1,000,000 memos). The expression index uses ``text_pattern_ops`` on
PostgreSQL, whose btree then serves LIKE prefixes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_credit_memos_partner_number", table_name="credit_memos")
    number = "upper(number) text_pattern_ops" if postgres else "upper(number)"
    op.create_index("ix_credit_memos_partner_number_upper", "credit_memos",
                    ["partner_id", sa.text(number)])


def downgrade() -> None:
    op.drop_index("ix_credit_memos_partner_number_upper", table_name="credit_memos")
    op.create_index("ix_credit_memos_partner_number", "credit_memos", ["partner_id", "number"])
