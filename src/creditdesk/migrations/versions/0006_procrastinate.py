"""Procrastinate's job tables (PostgreSQL only): the queue `creditdesk worker` runs there

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:00:00

The SQL is the schema that the pinned Procrastinate release ships
(``procrastinate/sql/schema.sql``), so ``creditdesk db upgrade`` stays the one command that
prepares a database. On SQLite this migration does nothing: jobs run in-process there.
Moving to a newer Procrastinate release means a new migration applying the files of
``procrastinate/sql/migrations`` between the two versions (docs/decisions.md).
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
          "procrastinate_workers")
TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type",
         "procrastinate_job_status")


def _driver_execute(sql: str) -> None:
    # Straight to psycopg with no parameters: the schema is many statements, with % and
    # $$-quoted function bodies that SQLAlchemy's text() would try to interpret.
    op.get_bind().connection.driver_connection.execute(sql)  # type: ignore[union-attr]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from procrastinate import schema

    _driver_execute(schema.SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _driver_execute(
        f"DROP TABLE IF EXISTS {', '.join(TABLES)} CASCADE;"
        "DO $$ DECLARE f regprocedure; BEGIN "
        "FOR f IN SELECT p.oid::regprocedure FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' "
        "LOOP EXECUTE 'DROP ROUTINE ' || f || ' CASCADE'; END LOOP; END $$;"
        f"DROP TYPE IF EXISTS {', '.join(TYPES)} CASCADE;")
