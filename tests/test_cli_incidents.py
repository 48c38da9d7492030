"""G5's CSV import: `creditdesk incidents import --partner-id P FILE.csv`, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditdesk import cli, config
from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from creditdesk.services.suggesting import incidents
from tests import factories

HEADER = "started_at,ended_at,description,customer_ids,variant_ids\n"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Database, Actor, str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    config.get_settings.cache_clear()
    made = CliRunner().invoke(cli.app, ["partner", "create", "--name", "Acme", "--admin-email",
                                        "s@acme.test", "--admin-password", "s3cret-pass"])
    partner_id = json.loads(made.stdout.strip().splitlines()[-1])["partner_id"]
    db = Database(url)
    actor = Actor(partner_id, "test")
    yield db, actor, partner_id
    db.dispose()
    config.get_settings.cache_clear()


def _run(tmp_path: Path, partner_id: str, text: str):
    path = tmp_path / "incidents.csv"
    path.write_text(text)
    return CliRunner().invoke(cli.app, ["incidents", "import", "--partner-id", partner_id,
                                        str(path)])


def test_g5_cli_imports_incidents_with_id_lists(setup, tmp_path: Path) -> None:
    db, actor, partner_id = setup
    a, b = factories.customer(db, actor, "A"), factories.customer(db, actor, "B")
    vid = factories.variant(db, actor)
    result = _run(tmp_path, partner_id, HEADER
                  + f"2026-03-03T10:00:00Z,2026-03-03 12:00,DB failover,{a};{b},{vid}\n"
                  + '2026-03-05T00:00:00+01:00,2026-03-05T01:00:00Z,"Network, all",,\n')
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["imported"] == 2
    listed = incidents.list_incidents(db, actor=actor).data
    assert {(i.description, tuple(i.customer_ids), tuple(i.variant_ids)) for i in listed} == {
        ("DB failover", (a, b), (vid,)), ("Network, all", (), ())}
    assert min(i.started_at for i in listed).isoformat() == "2026-03-03T10:00:00+00:00"


def test_g5_cli_refuses_the_whole_file_and_names_each_row(setup, tmp_path: Path) -> None:
    db, actor, partner_id = setup
    result = _run(tmp_path, partner_id, HEADER
                  + "2026-03-03T10:00:00Z,2026-03-03T11:00:00Z,fine,,\n"
                  + "2026-03-03T10:00:00Z,2026-03-03T09:00:00Z,backwards,,\n"
                  + "2026-03-03T10:00:00Z,2026-03-03T11:00:00Z,who,cus_nope,\n"
                  + "soon,2026-03-03T11:00:00Z,when,,\n")
    assert result.exit_code == 2, result.output
    for words in ("row 2: ended_at", "row 3: customer_ids", "no customer with id cus_nope",
                  "row 4: started_at", "nothing was imported"):
        assert words in result.output
    assert "row 1" not in result.output
    assert incidents.list_incidents(db, actor=actor).data == []
    missing = _run(tmp_path, partner_id, "start,end\n1,2\n")
    assert missing.exit_code == 2 and "lacks started_at" in missing.output
