"""The command line as API.md describes it: db upgrade and partner create."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from creditdesk import cli, config
from creditdesk.db.engine import Database
from creditdesk.services.access import partners


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _serving(args: list[str], env: dict[str, str], cwd: Path, port: int,
             **output: Any) -> Iterator[subprocess.Popen]:
    """``creditdesk serve`` in a process of its own, once it answers /healthz; terminated
    after."""
    proc = subprocess.Popen([sys.executable, "-m", "creditdesk.cli", "serve", "--port",
                             str(port), *args], cwd=cwd, env={**os.environ, **env}, **output)
    try:
        deadline, up = time.monotonic() + 60, False
        while time.monotonic() < deadline and not up:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert up, f"serve {' '.join(args)} never answered /healthz"
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


def test_serve_with_workers_upgrades_in_a_child_and_serves(sqlite_url: str, tmp_path) -> None:
    """``serve --workers 2`` prepares the schema in a child process (the supervisor stays
    small), then both workers answer on the upgraded database."""
    port = _free_port()
    env = {"CREDITDESK_DATABASE_URL": sqlite_url, "CREDITDESK_SYNC_IN_PROCESS": "0"}
    with _serving(["--workers", "2"], env, tmp_path, port, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL):
        key = f"{partners.API_KEY_PREFIX}not-a-key"
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/credit-memos",
                           headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert answer.status_code == 401  # the schema is there: the key was looked up
        db = Database(sqlite_url)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.dispose()


DEMO_COUNTS = ("SELECT (SELECT count(*) FROM partners), (SELECT count(*) FROM customers), "
               "(SELECT count(*) FROM invoices), (SELECT count(*) FROM credit_memos), "
               "(SELECT count(*) FROM integrations), (SELECT count(*) FROM sync_runs)")


def test_serve_demo_twice_loads_once_and_never_syncs_the_demo_books(sqlite_url: str,
                                                                    tmp_path) -> None:
    """README: ``serve --demo`` loads the demo once; a second start on the same file only
    prints a new API key. With the in-process sync runner on (the SQLite default), the
    demo's disconnected QuickBooks Online and Xero connections are never synced: no new
    run, nothing in the server's log but its start and stop."""
    env = {"CREDITDESK_DATABASE_URL": sqlite_url, "CREDITDESK_SYNC_IN_PROCESS": "1"}
    keys, counts = [], []
    for start in ("first", "second"):
        out, err = tmp_path / f"{start}.out", tmp_path / f"{start}.err"
        with out.open("w") as stdout, err.open("w") as stderr, \
                _serving(["--demo"], env, tmp_path, _free_port(), stdout=stdout, stderr=stderr):
            time.sleep(1.5)  # the runner's first look for due syncs ran before serving
        printed = out.read_text()
        assert "Demo partner ready: Northwind IT Services" in printed
        keys.append(re.search(r"API key: +(\S+)", printed).group(1))
        logged = [line for line in err.read_text().splitlines()
                  if not line.startswith("INFO:")]
        assert logged == [], f"the {start} start logged:\n" + "\n".join(logged)
        db = Database(sqlite_url)
        with db.engine.connect() as conn:
            counts.append(tuple(conn.execute(text(DEMO_COUNTS)).one()))
            runs = conn.execute(text("SELECT trigger, status FROM sync_runs")).all()
            conns = conn.execute(text("SELECT status, next_sync_at FROM integrations")).all()
        db.dispose()
        assert sorted(runs) == [("demo", "succeeded")] * 2
        assert conns == [("disconnected", None)] * 2
    assert counts[0] == counts[1] == (1, 26, 143, 48, 2, 2)
    assert keys[0] != keys[1]


@pytest.mark.parametrize("fake", ["quickbooks-online", "xero", "sage-intacct", "web-connector"])
def test_a_fake_without_the_dev_tools_says_what_to_install(fake: str) -> None:
    """The creditdesk wheel leaves creditdesk_devtools out: ``creditdesk fake …`` then says so
    in words (exit 2) instead of a traceback."""
    code = ("import sys; sys.modules['creditdesk_devtools'] = None\n"
            "from creditdesk.cli import app\n"
            f"app(['fake', {fake!r}, '--port', '1'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"creditdesk fake {fake} needs the dev tools" in done.stderr
    assert "make dev" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_fakes_are_there_with_the_dev_tools() -> None:
    result = CliRunner().invoke(cli.app, ["fake", "xero", "--help"])
    assert result.exit_code == 0, result.output
    assert "Credit notes (credit memos) to start with" in result.output
    for command in ("quickbooks-online", "xero", "sage-intacct"):  # the same options in each
        result = CliRunner().invoke(cli.app, ["fake", command, "--help"])
        assert result.exit_code == 0, result.output
        assert "--memos" in result.output and "--invoices" in result.output
