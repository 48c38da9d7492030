"""Every schema change is an Alembic migration: the models and the migrated schema agree."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from creditdesk.db import migrate
from creditdesk.db.engine import Database
from creditdesk.db.models import Base


@pytest.mark.filterwarnings(
    # SQLAlchemy can't reflect SQLite's expression indexes; PostgreSQL's it compares fully.
    "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning")
def test_models_match_migrations(db: Database) -> None:
    """Autogenerate finds nothing to do on a freshly upgraded database (SQLite and PostgreSQL)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": migrate.include_name})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_with_full_sync_and_foreign_keys(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_0010_keeps_the_oldest_of_duplicate_queued_runs(db: Database) -> None:
    """Queued runs of one connection left by the race 0010 closes: the oldest stays queued,
    the others are closed as failed, saying why; other connections' runs are untouched."""
    from alembic import command
    from sqlalchemy import text

    from creditdesk.services import partners

    config = migrate.alembic_config(db.engine.url.render_as_string(hide_password=False))
    # The partner first: today's models write columns that revision 0009 does not have.
    partner = partners.create_partner(db, name="P", admin_email="a@p.test",
                                      admin_password="correct horse")
    command.downgrade(config, "0009")
    runs = [("run_01a", "int_1"), ("run_01b", "int_1"), ("run_01c", "int_1"),
            ("run_01d", "int_2")]
    with db.engine.begin() as conn:
        for iid in ("int_1", "int_2"):
            conn.execute(text(
                "INSERT INTO integrations (id, partner_id, provider, status, cursor, "
                "consecutive_failures, created_at, updated_at) VALUES (:id, :p, 'xero', "
                "'connected', '{}', 0, :now, :now)"),
                {"id": iid, "p": partner.partner_id, "now": "2026-11-22 00:00:00"})
        for run_id, iid in runs:
            conn.execute(text(
                "INSERT INTO sync_runs (id, partner_id, integration_id, trigger, status, "
                "queued_at, fetched, created, updated, voided, errors) VALUES (:id, :p, :i, "
                "'manual', 'queued', :at, 0, 0, 0, 0, '[]')"),
                {"id": run_id, "p": partner.partner_id, "i": iid, "at": "2026-11-22 00:00:00"})
    migrate.upgrade(db.engine.url.render_as_string(hide_password=False))
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, status, errors FROM sync_runs ORDER BY id")).all()
    assert [(r[0], r[1]) for r in rows] == [("run_01a", "queued"), ("run_01b", "failed"),
                                            ("run_01c", "failed"), ("run_01d", "queued")]
    errors = rows[1][2] if isinstance(rows[1][2], list) else json.loads(rows[1][2])
    assert "second queued run" in errors[0]["message"]
