"""Idempotency-Keys per partner, answered in the effect's own transaction (E2)

Keys were scoped by a hash of the Authorization header and went through a committed
``pending`` state, which a crash could leave behind. A row now belongs to a partner and is
written only in the transaction of the effect it answers (or, for an answer without an
effect, on its own), so there is no ``status``. Rows written before this revision can't be
attributed to a partner (the scope was a one-way hash of the header) and expire within 24
hours anyway: they are dropped with the old table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditdesk.db.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("idempotency_records")
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_content_type", sa.String(length=255), nullable=True),
        sa.Column("created_at", creditdesk.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner_id", "key", name="uq_idempotency_partner_key"),
    )
    op.create_index("ix_idempotency_records_created_at", "idempotency_records",
                    ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_records_created_at", table_name="idempotency_records")
    op.drop_table("idempotency_records")
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_content_type", sa.String(length=255), nullable=True),
        sa.Column("created_at", creditdesk.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),
    )
