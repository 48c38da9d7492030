"""tax rates on invoice and memo lines (T1-T5)

``tax_rates`` (a partner's named rates; a compound one has ``tax_rate_components``),
``tax_rate_id``, the rate's name (rates are never renamed; the line shows it without a
join) and the stored ``tax_minor`` on invoice and memo lines, ``tax_inclusive``
on invoices and memos, and the memo's ``tax_minor`` (invoices have theirs since 0016).
Every existing document gets no rate, no tax and exclusive prices: it reads as before.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditdesk.db.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LINE_TABLES = (("invoice_lines", "fk_invoice_lines_tax_rate"),
               ("credit_memo_lines", "fk_credit_memo_lines_tax_rate"))


def upgrade() -> None:
    op.create_table(
        "tax_rates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rate_e4", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("rate_e4 >= 0 AND rate_e4 <= 1000000", name="tax_rate_range"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_tax_rates_partner_name", "tax_rates", ["partner_id", "name"],
                    unique=True)
    op.create_table(
        "tax_rate_components",
        sa.Column("tax_rate_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rate_e4", sa.Integer(), nullable=False),
        sa.CheckConstraint("rate_e4 >= 0 AND rate_e4 <= 1000000", name="tax_component_range"),
        sa.ForeignKeyConstraint(["tax_rate_id"], ["tax_rates.id"]),
        sa.PrimaryKeyConstraint("tax_rate_id", "position"),
    )
    bind = op.get_bind()
    for table, fk in LINE_TABLES:
        if bind.dialect.name == "sqlite":
            # a nullable column with its REFERENCES clause, in place (as 0014 does)
            op.execute(f"ALTER TABLE {table} ADD COLUMN tax_rate_id VARCHAR(40) "
                       f"CONSTRAINT {fk} REFERENCES tax_rates (id)")
        else:
            op.add_column(table, sa.Column("tax_rate_id", sa.String(length=40), nullable=True))
            op.create_foreign_key(fk, table, "tax_rates", ["tax_rate_id"], ["id"])
        op.add_column(table, sa.Column("tax_rate_name", sa.String(length=100), nullable=True))
        op.add_column(table, sa.Column("tax_minor", sa.BigInteger(), nullable=False,
                                       server_default="0"))
    for table in ("invoices", "credit_memos"):
        op.add_column(table, sa.Column("tax_inclusive", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("credit_memos", sa.Column("tax_minor", sa.BigInteger(), nullable=False,
                                            server_default="0"))


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_column("credit_memos", "tax_minor")
    for table in ("invoices", "credit_memos"):
        op.drop_column(table, "tax_inclusive")
    for table, fk in LINE_TABLES:
        op.drop_column(table, "tax_minor")
        op.drop_column(table, "tax_rate_name")
        if bind.dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN tax_rate_id")
        else:
            op.drop_constraint(fk, table, type_="foreignkey")
            op.drop_column(table, "tax_rate_id")
    op.drop_table("tax_rate_components")
    op.drop_index("ux_tax_rates_partner_name", table_name="tax_rates")
    op.drop_table("tax_rates")
