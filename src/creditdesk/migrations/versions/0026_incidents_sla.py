"""incidents and SLA policies (G5): service-issue credits

``incidents``: when a service was down, what happened, and the customers and products it
touched (JSON id lists; empty: everyone). ``sla_policies``: per product (or a default with
no variant) the availability promised and the credit bands, percents as integer
ten-thousandths of a percent.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditdesk.db.types import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("customer_ids", sa.JSON(), nullable=False),
        sa.Column("variant_ids", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("ended_at > started_at", name="incident_ends_after_start"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_partner_started", "incidents",
                    ["partner_id", "started_at", "id"])
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("variant_id", sa.String(length=40), nullable=True),
        sa.Column("availability_promised", sa.Integer(), nullable=False),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("availability_promised > 0 AND availability_promised <= 1000000",
                           name="sla_policy_promised_range"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sla_policies_partner", "sla_policies", ["partner_id", "variant_id"])


def downgrade() -> None:
    op.drop_index("ix_sla_policies_partner", table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_index("ix_incidents_partner_started", table_name="incidents")
    op.drop_table("incidents")
