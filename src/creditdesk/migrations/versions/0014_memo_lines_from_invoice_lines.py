"""memo lines started from an invoice line (C6, C5 per line); number search by any part (S2)

``credit_memo_lines.invoice_line_id`` names the invoice line a memo line credits, so what a
line can still be credited (its quantity less what non-void memos linked to it already
credit) is a sum over an index.

The memo list's ``q`` now matches any part of a number ("17" finds CM-0017). On
PostgreSQL a trigram GIN index on upper(number) serves ``LIKE '%17%'`` when the pg_trgm
extension can be had (it ships with PostgreSQL's contrib; creating it needs the right to
create extensions). Without it the search still works: newest first, it walks the
partner's memos until a page is full.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TRGM_INDEX = "ix_credit_memos_number_trgm"


def _trigrams_available(bind: sa.Connection) -> bool:
    """pg_trgm is installed, or can be by this role (without aborting the migration)."""
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    available = bind.scalar(sa.text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"))
    may_create = bind.scalar(sa.text(
        "SELECT rolsuper OR has_database_privilege(current_database(), 'CREATE') "
        "FROM pg_roles WHERE rolname = current_user"))
    return bool(available and may_create)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite adds a nullable column with its REFERENCES clause in place: no table copy
        # (batch mode would rebuild credit_memo_lines for one nullable column).
        op.execute("ALTER TABLE credit_memo_lines ADD COLUMN invoice_line_id VARCHAR(40) "
                   "CONSTRAINT fk_credit_memo_lines_invoice_line REFERENCES invoice_lines (id)")
    else:
        op.add_column("credit_memo_lines",
                      sa.Column("invoice_line_id", sa.String(length=40), nullable=True))
        op.create_foreign_key("fk_credit_memo_lines_invoice_line", "credit_memo_lines",
                              "invoice_lines", ["invoice_line_id"], ["id"])
    op.create_index("ix_credit_memo_lines_invoice_line_id", "credit_memo_lines",
                    ["invoice_line_id"])
    if bind.dialect.name == "postgresql" and _trigrams_available(bind):
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX {TRGM_INDEX} ON credit_memos "
                   "USING gin (upper(number) gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
    op.drop_index("ix_credit_memo_lines_invoice_line_id", table_name="credit_memo_lines")
    if bind.dialect.name == "sqlite":
        # SQLite >= 3.35 drops a column in place unless a constraint names it: it is the
        # REFERENCES clause's own column, which DROP COLUMN accepts.
        op.execute("ALTER TABLE credit_memo_lines DROP COLUMN invoice_line_id")
    else:
        op.drop_constraint("fk_credit_memo_lines_invoice_line", "credit_memo_lines",
                           type_="foreignkey")
        op.drop_column("credit_memo_lines", "invoice_line_id")
