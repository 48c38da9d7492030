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

    from creditdesk.services.access import partners

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


def test_0013_moves_synced_customers_ids_into_references(db: Database) -> None:
    """Y10: each synced customer's system id becomes its first reference (linked by sync),
    and its synced memos name that reference; a downgrade puts the ids back."""
    from alembic import command
    from sqlalchemy import text

    from creditdesk.services.access import partners

    config = migrate.alembic_config(db.engine.url.render_as_string(hide_password=False))
    partner = partners.create_partner(db, name="P", admin_email="a@p.test",
                                      admin_password="correct horse")
    command.downgrade(config, "0012")
    now = "2026-11-22 00:00:00"
    with db.engine.begin() as conn:
        for cid, source, ext in (("cus_1", "xero", "g-61"), ("cus_2", None, None)):
            conn.execute(text(
                "INSERT INTO customers (id, partner_id, name, email, currency, external_source,"
                " external_id, created_at, updated_at) VALUES (:id, :p, 'Customer 61',"
                " 'a@c61.test', 'USD', :s, :e, :now, :now)"),
                {"id": cid, "p": partner.partner_id, "s": source, "e": ext, "now": now})
        for mid, cid, source in (("cm_1", "cus_1", "xero"), ("cm_2", "cus_2", "native")):
            conn.execute(text(
                "INSERT INTO credit_memos (id, partner_id, customer_id, number, currency, reason,"
                " status, total_minor, applied_minor, source, created_at, updated_at) VALUES"
                " (:id, :p, :c, :id, 'USD', 'other', 'issued', 100, 0, :s, :now, :now)"),
                {"id": mid, "p": partner.partner_id, "c": cid, "s": source, "now": now})
    migrate.upgrade(db.engine.url.render_as_string(hide_password=False))
    with db.engine.connect() as conn:
        refs = conn.execute(text("SELECT id, customer_id, system, external_id, name, linked_by"
                                 " FROM customer_references")).all()
        memo_refs = dict(conn.execute(text(
            "SELECT id, customer_reference_id FROM credit_memos ORDER BY id")).all())
    assert [tuple(r[1:]) for r in refs] == [("cus_1", "xero", "g-61", "Customer 61", "sync")]
    assert memo_refs == {"cm_1": refs[0][0], "cm_2": None}
    command.downgrade(config, "0012")
    with db.engine.connect() as conn:
        back = conn.execute(text("SELECT id, external_source, external_id FROM customers"
                                 " ORDER BY id")).all()
    assert [tuple(r) for r in back] == [("cus_1", "xero", "g-61"), ("cus_2", None, None)]
    migrate.upgrade(db.engine.url.render_as_string(hide_password=False))
