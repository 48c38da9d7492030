"""documents (D1, D2): the partner's profile and logo, its SMTP settings, memo deliveries,
and the customer-facing note of a memo

``partner_profiles``: what a memo's PDF shows of the partner (legal name, address lines,
email, phone, an optional PNG/JPEG logo). ``email_settings``: the partner's SMTP server;
the password sealed like accounting credentials (``services.common.vault``).
``memo_deliveries``: each email of a memo (D2): recipients, status (queued, sending, sent,
failed, gave_up), the Message-ID it carries, attempts, the server's last answer and the
next attempt. ``credit_memos.customer_note``: the note shown to the customer (the PDF and
the portal); ``notes`` stays internal.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditdesk.db.types import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

DUE = "status IN ('queued', 'failed', 'sending')"


def upgrade() -> None:
    op.add_column("credit_memos", sa.Column("customer_note", sa.Text(), nullable=True))
    op.create_table(
        "partner_profiles",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=True),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(length=20), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("(logo IS NULL) = (logo_type IS NULL)", name="profile_logo_typed"),
        sa.CheckConstraint("logo_type IS NULL OR logo_type IN ('image/png', 'image/jpeg')",
                           name="profile_logo_type"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    op.create_table(
        "email_settings",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(length=10), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password_encrypted", sa.Text(), nullable=True),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name="email_settings_port"),
        sa.CheckConstraint("security IN ('none', 'starttls', 'tls')",
                           name="email_settings_security"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    op.create_table(
        "memo_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("credit_memo_id", sa.String(length=40), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("sending_since", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed', 'gave_up')",
                           name="delivery_status"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="delivery_sent_at"),
        sa.ForeignKeyConstraint(["credit_memo_id"], ["credit_memos.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", name="ux_memo_deliveries_message_id"),
    )
    op.create_index("ix_memo_deliveries_memo", "memo_deliveries",
                    ["credit_memo_id", "created_at"])
    op.create_index("ix_memo_deliveries_due", "memo_deliveries", ["next_attempt_at"],
                    sqlite_where=sa.text(DUE), postgresql_where=sa.text(DUE))


def downgrade() -> None:
    op.drop_index("ix_memo_deliveries_due", table_name="memo_deliveries")
    op.drop_index("ix_memo_deliveries_memo", table_name="memo_deliveries")
    op.drop_table("memo_deliveries")
    op.drop_table("email_settings")
    op.drop_table("partner_profiles")
    op.drop_column("credit_memos", "customer_note")  # SQLite 3.35+ drops it in place
