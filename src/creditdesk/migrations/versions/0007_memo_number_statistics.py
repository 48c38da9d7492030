"""memo number search: finer statistics on upper(number) (PostgreSQL)

With the default statistics target (100 histogram buckets), a number prefix whose range
holds a bucket boundary (about 1 prefix in 90: 'CM-1077', 'CM-1169', ...) is estimated at
one whole bucket, 1% of the memos. At 1,000,000 memos that is 10,000 rows, and for
``ORDER BY id DESC LIMIT 51`` the planner then prefers walking the primary key backwards
and filtering on the number, expecting to meet 51 matches soon; the matches are old memos,
so the walk reads ~900,000 rows (0.5 s instead of 0.3 ms; B4's p99 of the search was
100-250 ms). 1,000 buckets keep such estimates near 1,000 rows, where the index plan wins,
up to a few million memos per database. ANALYZE of credit_memos samples 300,000 rows
instead of 30,000 (2.5 s instead of 0.25 s at 1,000,000 memos).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 21:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEX = "ix_credit_memos_partner_number_upper"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Column 2 of the index is the expression upper(number).
    op.execute(f"ALTER INDEX {INDEX} ALTER COLUMN 2 SET STATISTICS 1000")
    op.execute("ANALYZE credit_memos")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER INDEX {INDEX} ALTER COLUMN 2 SET STATISTICS -1")
