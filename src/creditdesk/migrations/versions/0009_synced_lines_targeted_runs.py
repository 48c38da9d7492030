"""synced memo lines in credit_memo_lines; targeted sync runs (webhooks name the memos)

credit_memo_lines gains ``synced`` and ``reported_quantity``; quantity and unit price become
nullable for synced lines only (C4 still binds native ones, restated in the constraints).
sync_runs gains ``targets``. Batch mode: SQLite recreates the table, PostgreSQL alters it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Reflect only the table itself: following its foreign keys would reflect credit_memos too,
# whose expression index SQLite reflection can't read (a warning, an error under pytest).
REFLECT = {"resolve_fks": False}
NATIVE_POSITIVE = "quantity > 0 AND unit_price_minor > 0"
NATIVE_AMOUNT = "amount_minor = quantity * unit_price_minor"


def upgrade() -> None:
    with op.batch_alter_table("credit_memo_lines", reflect_kwargs=REFLECT) as batch:
        batch.add_column(sa.Column("synced", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("reported_quantity", sa.String(length=40), nullable=True))
        batch.alter_column("quantity", existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column("unit_price_minor", existing_type=sa.BigInteger(), nullable=True)
        batch.drop_constraint("memo_line_positive", type_="check")
        batch.drop_constraint("memo_line_amount", type_="check")
        batch.create_check_constraint(
            "memo_line_positive", "synced OR (quantity IS NOT NULL AND unit_price_minor IS NOT "
            f"NULL AND {NATIVE_POSITIVE})")
        batch.create_check_constraint("memo_line_amount", f"synced OR {NATIVE_AMOUNT}")
        batch.create_check_constraint(
            "memo_line_kind", "(synced AND quantity IS NULL AND variant_id IS NULL)"
            " OR (NOT synced AND reported_quantity IS NULL)")
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("targets", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM credit_memo_lines WHERE synced")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("targets")
    with op.batch_alter_table("credit_memo_lines", reflect_kwargs=REFLECT) as batch:
        batch.drop_constraint("memo_line_kind", type_="check")
        batch.drop_constraint("memo_line_amount", type_="check")
        batch.drop_constraint("memo_line_positive", type_="check")
        batch.alter_column("quantity", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("unit_price_minor", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column("reported_quantity")
        batch.drop_column("synced")
        batch.create_check_constraint("memo_line_positive", NATIVE_POSITIVE)
        batch.create_check_constraint("memo_line_amount", NATIVE_AMOUNT)
