"""suggestion runs (issue 16): a partner-wide refresh of suggestions on the job system

One row per refresh of every customer's suggestions: its progress (customers done of the
total, and the last customer id done, so a run whose worker died resumes after its last
batch), its counts and outcome. At most one queued or running run per partner.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditdesk.db.types import UTCDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "suggestion_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("customers_total", sa.Integer(), nullable=True),
        sa.Column("customers_done", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                           name="suggestion_run_status"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_suggestion_runs_partner", "suggestion_runs", ["partner_id", "id"])
    op.create_index("ix_suggestion_runs_status", "suggestion_runs", ["status", "queued_at"])
    op.create_index("ux_suggestion_runs_one_active", "suggestion_runs", ["partner_id"],
                    unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_index("ux_suggestion_runs_one_active", table_name="suggestion_runs")
    op.drop_index("ix_suggestion_runs_status", table_name="suggestion_runs")
    op.drop_index("ix_suggestion_runs_partner", table_name="suggestion_runs")
    op.drop_table("suggestion_runs")
