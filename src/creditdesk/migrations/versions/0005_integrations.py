"""accounting integrations: connections (encrypted credentials, cursors) and sync runs (Y1-Y8)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditdesk.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = creditdesk.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("realm_id", sa.String(length=255), nullable=True),
        sa.Column("company_name", sa.String(length=255), nullable=True),
        sa.Column("oauth_state_hash", sa.String(length=64), nullable=True),
        sa.Column("credentials_encrypted", sa.Text(), nullable=True),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("last_synced_at", UTC(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_sync_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("disconnected_at", UTC(), nullable=True),
        sa.CheckConstraint("status IN ('pending_authorization', 'connected', 'needs_reconnection', 'disconnected')", name="integration_status"),
        sa.CheckConstraint("provider IN ('quickbooks_online', 'quickbooks_desktop', 'sage_intacct', 'xero')", name="integration_provider"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_integrations_partner_id", "integrations", ["partner_id", "id"])
    op.create_index("ix_integrations_provider_realm", "integrations", ["provider", "realm_id"])
    op.create_index("ux_integrations_oauth_state", "integrations", ["oauth_state_hash"],
                    unique=True, sqlite_where=sa.text("oauth_state_hash IS NOT NULL"),
                    postgresql_where=sa.text("oauth_state_hash IS NOT NULL"))
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("queued_at", UTC(), nullable=False),
        sa.Column("started_at", UTC(), nullable=True),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.Column("heartbeat_at", UTC(), nullable=True),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("voided", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'partial', 'failed')", name="sync_run_status"),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sync_runs_integration", "sync_runs", ["integration_id", "id"])
    op.create_index("ix_sync_runs_status", "sync_runs", ["status", "queued_at"])
    op.create_index("ux_sync_runs_one_running", "sync_runs", ["integration_id"], unique=True,
                    sqlite_where=sa.text("status = 'running'"),
                    postgresql_where=sa.text("status = 'running'"))


def downgrade() -> None:
    op.drop_table("sync_runs")
    op.drop_table("integrations")
