"""where a pending OAuth connection was started: the dashboard or the API

The OAuth callback answers a person who started the connection on the Integrations page by
taking them back to that page with the outcome in words, and an API client with JSON, as
API.md has it. Which one is kept on the connection with its state (NULL: the API, as every
connection started before this revision was answered).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("integrations",
                  sa.Column("oauth_started_from", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("oauth_started_from")
