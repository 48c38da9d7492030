"""server-side sessions, atomic sign-in counters, deactivated users, user API keys (E4, E5)

``web_sessions`` replaces the signed cookie's contents: the cookie now carries a random
token and the session lives here (by the token's SHA-256), so signing out ends it
everywhere. ``sign_in_counters`` replaces ``login_failures``: one counter row per account
and per client address, claimed atomically before a password is checked. The failures
counted in ``login_failures`` are dropped with it (at most 15 minutes of throttling lost).
``users.deactivated_at`` and ``api_keys.user_id`` serve the users page.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditdesk.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UTC = creditdesk.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("last_seen_at", UTC(), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.CheckConstraint("kind IN ('dashboard', 'portal')", name="web_session_kind"),
        sa.CheckConstraint("(kind = 'dashboard') = (user_id IS NOT NULL)",
                           name="web_session_dashboard_user"),
        sa.CheckConstraint("(kind = 'portal') = (customer_id IS NOT NULL)",
                           name="web_session_portal_customer"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires", "web_sessions", ["expires_at"])
    op.create_table(
        "sign_in_counters",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("window_started_at", UTC(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    op.drop_index("ix_login_failures_key_at", table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("deactivated_at", UTC(), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("user_id", sa.String(length=40), nullable=True))
        batch.create_foreign_key("fk_api_keys_user_id_users", "users", ["user_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("fk_api_keys_user_id_users", type_="foreignkey")
        batch.drop_column("user_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deactivated_at")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key_hash", "at"])
    op.drop_table("sign_in_counters")
    op.drop_table("web_sessions")
