"""at most one queued sync run per connection, in the database

Requests for a run meet in the connection's queued run (``sync.request_run``); two racing
requests on PostgreSQL could each find none and queue one. A unique partial index makes the
second wait for the first and fail, and ``request_run`` then merges into the first. Queued
duplicates left by that race before this revision are closed as failed, the oldest kept.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 02:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

QUEUED = "status = 'queued'"


def upgrade() -> None:
    op.execute(
        "UPDATE sync_runs SET status = 'failed', finished_at = queued_at, errors = "
        "'[{\"external_id\": null, \"message\": \"a second queued run of the connection, "
        "closed when at most one became the rule (the older one runs)\"}]' "
        f"WHERE {QUEUED} AND id NOT IN "
        f"(SELECT MIN(id) FROM sync_runs WHERE {QUEUED} GROUP BY integration_id)")
    op.create_index("ux_sync_runs_one_queued", "sync_runs", ["integration_id"], unique=True,
                    sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))


def downgrade() -> None:
    op.drop_index("ux_sync_runs_one_queued", table_name="sync_runs")
