"""The command line as API.md describes it: db upgrade and partner create."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from creditdesk import cli, config
from creditdesk.db.engine import Database
from creditdesk.services import partners


@pytest.fixture
def sqlite_url(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    config.get_settings.cache_clear()
    yield url
    config.get_settings.cache_clear()


def test_db_upgrade_creates_the_schema(sqlite_url: str) -> None:
    result = CliRunner().invoke(cli.app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    db = Database(sqlite_url)
    tables = set(inspect(db.engine).get_table_names())
    db.dispose()
    assert {"credit_memos", "invoices", "credit_applications", "journal_entries",
            "alembic_version"} <= tables


def test_partner_create_prints_json_with_a_working_api_key(sqlite_url: str) -> None:
    result = CliRunner().invoke(cli.app, [
        "partner", "create", "--name", "Acme", "--admin-email", "Ops@Acme.test",
        "--admin-password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(out) == {"partner_id", "api_key", "admin_email"}
    assert out["admin_email"] == "ops@acme.test"
    db = Database(sqlite_url)
    try:
        actor = partners.authenticate_api_key(db, out["api_key"])
        assert actor.partner_id == out["partner_id"]
        user = partners.authenticate_user(db, email="ops@acme.test", password="s3cret-pass")
        assert user.partner_id == out["partner_id"] and user.role == "admin"
    finally:
        db.dispose()


def test_partner_create_refuses_a_duplicate_email_clearly(sqlite_url: str) -> None:
    args = ["partner", "create", "--name", "Acme", "--admin-email", "a@acme.test",
            "--admin-password", "s3cret-pass"]
    assert CliRunner().invoke(cli.app, args).exit_code == 0
    again = CliRunner().invoke(cli.app, args)
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_suggestions_refresh_for_an_unknown_partner_is_a_clear_error(sqlite_url: str) -> None:
    for extra in ([], ["--customer-id", "cus_x"]):
        result = CliRunner().invoke(cli.app, ["suggestions", "refresh", "--partner-id",
                                              "par_nope", *extra])
        assert result.exit_code == 2, result.output
        assert "No partner with id par_nope." in result.output
        assert "IntegrityError" not in result.output and "FOREIGN KEY" not in result.output
    db = Database(sqlite_url)
    try:
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM audit_events")).scalar() == 0
    finally:
        db.dispose()


def test_suggestions_refresh_prints_the_counts(sqlite_url: str) -> None:
    made = CliRunner().invoke(cli.app, [
        "partner", "create", "--name", "Acme", "--admin-email", "s@acme.test",
        "--admin-password", "s3cret-pass"])
    partner_id = json.loads(made.stdout.strip().splitlines()[-1])["partner_id"]
    result = CliRunner().invoke(cli.app, ["suggestions", "refresh", "--partner-id", partner_id])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "customers": 0, "created": 0, "updated": 0, "removed": 0, "open": 0}


def test_serve_with_workers_upgrades_in_a_child_and_serves(sqlite_url: str, tmp_path) -> None:
    """``serve --workers 2`` prepares the schema in a child process (the supervisor stays
    small), then both workers answer on the upgraded database."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CREDITDESK_DATABASE_URL": sqlite_url, "CREDITDESK_SYNC_IN_PROCESS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "creditdesk.cli", "serve", "--port",
                             str(port), "--workers", "2"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, up = time.monotonic() + 60, False
        while time.monotonic() < deadline and not up:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert up, "serve --workers 2 never answered /healthz"
        key = f"{partners.API_KEY_PREFIX}not-a-key"
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/credit-memos",
                           headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert answer.status_code == 401  # the schema is there: the key was looked up
        db = Database(sqlite_url)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.dispose()
    finally:
        proc.terminate()
        proc.wait(30)
