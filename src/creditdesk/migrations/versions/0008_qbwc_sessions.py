"""QuickBooks Web Connector sessions: one row per authenticate ticket (hash only)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditdesk.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC = creditdesk.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "qbwc_sessions",
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("last_seen_at", UTC(), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.CheckConstraint("stage IN ('deleted', 'memos', 'done', 'failed', 'closed')",
                           name="qbwc_session_stage"),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"]),
        sa.PrimaryKeyConstraint("ticket_hash"),
    )
    op.create_index("ix_qbwc_sessions_integration", "qbwc_sessions",
                    ["integration_id", "created_at"])
    op.create_index("ix_qbwc_sessions_expires", "qbwc_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("qbwc_sessions")
