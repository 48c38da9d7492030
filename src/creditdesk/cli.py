"""The ``creditdesk`` command: serve, db upgrade, partner create (API.md)."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from creditdesk.config import get_settings

app = typer.Typer(help="CreditDesk: accounts-receivable credit memos.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
partner_app = typer.Typer(help="Partners (tenants).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(partner_app, name="partner")
suggestions_app = typer.Typer(help="Credit suggestions (G1-G4).", no_args_is_help=True)
app.add_typer(suggestions_app, name="suggestions")
incidents_app = typer.Typer(help="Service incidents (G5).", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (Alembic)."""
    from creditdesk.db import migrate

    migrate.upgrade(get_settings().database_url)
    typer.echo("Database schema is up to date.", err=True)


@partner_app.command("create")
def partner_create(
    name: Annotated[str, typer.Option(help="The partner's name")],
    admin_email: Annotated[str, typer.Option(help="Email of the first admin user")],
    admin_password: Annotated[str, typer.Option(help="Password of the first admin user")],
) -> None:
    """Create a partner and its first admin; prints {"partner_id", "api_key", "admin_email"}."""
    from creditdesk.db import migrate
    from creditdesk.db.engine import Database
    from creditdesk.domain import errors
    from creditdesk.services.access import partners

    url = get_settings().database_url
    migrate.upgrade(url)
    db = Database(url)
    try:
        new = partners.create_partner(db, name=name, admin_email=admin_email,
                                      admin_password=admin_password)
    except errors.DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    typer.echo(json.dumps({"partner_id": new.partner_id, "api_key": new.api_key,
                           "admin_email": new.admin_email}))


@suggestions_app.command("refresh")
def suggestions_refresh(
    partner_id: Annotated[str, typer.Option(help="The partner whose suggestions to refresh")],
    customer_id: Annotated[str | None, typer.Option(help="Only this customer")] = None,
) -> None:
    """Recompute credit suggestions for one customer or a whole partner, with progress."""
    from rich.progress import Progress

    from creditdesk.db import migrate
    from creditdesk.db.engine import Database
    from creditdesk.domain import errors
    from creditdesk.services.common.context import Actor
    from creditdesk.services.suggesting import suggestions

    url = get_settings().database_url
    migrate.upgrade(url)
    db = Database(url)
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("Refreshing suggestions", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = suggestions.refresh(db, actor=Actor(partner_id, "cli"),
                                         customer_id=customer_id, progress=progress)
    except errors.DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    typer.echo(json.dumps({"customers": result.customers, "created": result.created,
                           "updated": result.updated, "removed": result.removed,
                           "open": result.open}))


@incidents_app.command("import")
def incidents_import(
    file: Annotated[typer.FileText, typer.Argument(help="CSV: started_at,ended_at,description,"
                                                        "customer_ids,variant_ids")],
    partner_id: Annotated[str, typer.Option(help="The partner the incidents belong to")],
) -> None:
    """Import service incidents from CSV (G5), all or nothing.

    Columns (a header row first): started_at, ended_at (ISO 8601; no offset: UTC),
    description, customer_ids and variant_ids (ids separated by ';'; empty: everyone).
    Prints {"imported", "incident_ids"}; on any refused row, imports nothing and lists every
    problem as "row N: field: message" on stderr (exit status 2)."""
    import csv

    from creditdesk.db import migrate
    from creditdesk.db.engine import Database
    from creditdesk.domain import errors
    from creditdesk.services.common.context import Actor
    from creditdesk.services.suggesting import incidents

    reader = csv.DictReader(file)
    missing = [c for c in incidents.CSV_COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        typer.echo(f"error: the CSV header lacks {', '.join(missing)} (columns: "
                   f"{','.join(incidents.CSV_COLUMNS)})", err=True)
        raise typer.Exit(2)
    rows = list(reader)
    url = get_settings().database_url
    migrate.upgrade(url)
    db = Database(url)
    try:
        made = incidents.import_rows(db, actor=Actor(partner_id, "cli"), rows=rows)
    except errors.DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        for e in exc.errors:
            typer.echo(f"  {e.field}: {e.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    typer.echo(json.dumps({"imported": len(made), "incident_ids": [i.id for i in made]}))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo partner first")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Upgrade the schema, then serve the API (and, with --demo, a demo partner)."""
    import uvicorn

    settings = get_settings()
    os.environ.setdefault("CREDITDESK_SECRET_KEY", settings.resolved_secret_key())
    _prepare(settings.database_url, demo=demo, host=host, port=port, own_process=workers > 1)
    if settings.database_url.startswith("sqlite") and sync_jobs_enabled():
        _start_sync_runner(settings.database_url)  # the SQLite default syncs in-process
    uvicorn.run("creditdesk.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")


def _prepare(database_url: str, *, demo: bool, host: str, port: int, own_process: bool) -> None:
    """Bring the schema to head and load the demo. With several workers this runs in a
    child process: the supervisor only watches the workers, and keeping SQLAlchemy, Alembic
    and the models out of it saves ~40 MB of server memory (B4)."""
    if own_process:
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "creditdesk.cli", "db", "prepare",
                        "--host", host, "--port", str(port)] + (["--demo"] if demo else []),
                       check=True)
        return
    from creditdesk.db import migrate

    migrate.upgrade(database_url)
    if demo:
        from creditdesk.db.engine import Database
        from creditdesk.demo import partner as demo_data

        db = Database(database_url)
        try:
            info = demo_data.load(db)
        finally:
            db.dispose()
        base = f"http://{host}:{port}"
        typer.echo(
            f"\nDemo partner ready: {info.partner_name}\n"
            f"  Dashboard sign-in: {base}/login  email {info.admin_email}  "
            f"password {info.admin_password}\n"
            f"  API key:           {info.api_key}\n"
            f"  Try:               curl -H 'Authorization: Bearer {info.api_key}' "
            f"{base}/api/v1/credit-memos\n")


@db_app.command("prepare", hidden=True)
def db_prepare(host: str = "127.0.0.1", port: int = 8000, demo: bool = False) -> None:
    """What ``serve`` does before serving (upgrade, demo), in a process of its own."""
    _prepare(get_settings().database_url, demo=demo, host=host, port=port, own_process=False)


from creditdesk.cli_sync import _start_sync_runner, fake_app, sync_jobs_enabled, worker  # noqa: E402

app.command()(worker)
app.add_typer(fake_app, name="fake")

if __name__ == "__main__":
    app()
