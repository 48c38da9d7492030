"""approvals (AP1): thresholds per currency and approval requests of draft memos

``approval_thresholds``: one row per partner and currency (none: no approval needed).
``approval_requests``: who asked to issue a draft, who decided, with their comments; at most
one open (pending or approved) request per memo, kept by a partial unique index. Users'
API keys already have ``api_keys.user_id`` (0011).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditdesk.db.types import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'approved')"


def upgrade() -> None:
    op.create_table(
        "approval_thresholds",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="approval_threshold_positive"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("partner_id", "currency"),
    )
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("credit_memo_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_by_user_id", sa.String(length=40), nullable=True),
        sa.Column("request_comment", sa.Text(), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_by_user_id", sa.String(length=40), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn')",
                           name="approval_request_status"),
        sa.ForeignKeyConstraint(["credit_memo_id"], ["credit_memos.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["requested_by_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_requests_memo", "approval_requests",
                    ["credit_memo_id", "requested_at"])
    op.create_index("ix_approval_requests_partner_status", "approval_requests",
                    ["partner_id", "status"])
    op.create_index("ux_approval_requests_one_open", "approval_requests", ["credit_memo_id"],
                    unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("ux_approval_requests_one_open", table_name="approval_requests")
    op.drop_index("ix_approval_requests_partner_status", table_name="approval_requests")
    op.drop_index("ix_approval_requests_memo", table_name="approval_requests")
    op.drop_table("approval_requests")
    op.drop_table("approval_thresholds")
