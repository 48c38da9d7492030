"""Sync commands: ``creditdesk worker`` and ``creditdesk fake quickbooks-online`` / ``xero`` /
``sage-intacct``."""

from __future__ import annotations

import importlib.util
import os
import time
from datetime import timedelta
from typing import Annotated

import typer

from creditdesk.config import get_settings

fake_app = typer.Typer(help="Local fakes of the accounting systems (for trying a sync).",
                       no_args_is_help=True)


def sync_jobs_enabled() -> bool:
    return os.environ.get("CREDITDESK_SYNC_IN_PROCESS", "1") != "0"


def _start_sync_runner(url: str) -> None:
    from creditdesk.db.engine import Database
    from creditdesk.jobs import sync as sync_jobs

    sync_jobs.InProcessRunner(Database(url), tick=5.0).start()


def worker(
    tick: Annotated[float, typer.Option(help="Seconds between looks for due syncs "
                                              "(SQLite)")] = 5.0,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once by this worker "
                                                  "(PostgreSQL)")] = 2,
) -> None:
    """Run scheduled and queued syncs (start as many as you like, on as many machines).

    On PostgreSQL this is a Procrastinate worker; on SQLite a loop over the same jobs."""
    from creditdesk.db import migrate
    from creditdesk.db.engine import Database
    from creditdesk.jobs import events, queue
    from creditdesk.jobs import sync as sync_jobs

    sync_jobs.install_events()
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    os.environ.setdefault("CREDITDESK_SECRET_KEY", settings.resolved_secret_key())
    db = Database(settings.database_url)
    typer.echo("Sync worker started; Ctrl-C stops it.", err=True)
    with sync_jobs.default_client() as client:
        build = sync_jobs.connector_factory(client)
        if queue.is_postgres(settings.database_url):
            from creditdesk.connectors import settings as provider_settings

            cfg = provider_settings.load()
            every = timedelta(seconds=cfg.sync_interval_seconds)
            try:
                queue.run_worker(settings.database_url,
                                 queue.Runtime(db, build, every, cfg.retry_base_seconds),
                                 concurrency=concurrency)
            finally:
                db.dispose()
            return
        from creditdesk.jobs import housekeeping
        from creditdesk.services.documents import delivery_job

        tidy = housekeeping.Every()
        try:
            while True:
                for app_id in sync_jobs.write_back_due(db, build):
                    typer.echo(f"wrote back {app_id}", err=True)
                for delivery_id in delivery_job.run_due(db):  # D2: memo emails
                    typer.echo(f"emailed {delivery_id}", err=True)
                for run_id in sync_jobs.run_pending(db, build):
                    typer.echo(f"ran {run_id}", err=True)
                events.deliver_due(db)
                tidy.run_if_due(db)
                time.sleep(tick)
        except KeyboardInterrupt:
            pass
        finally:
            db.dispose()


FAKES = ("quickbooks-online", "xero", "sage-intacct", "web-connector")


def devtools_installed() -> bool:
    """Whether creditdesk_devtools (the fakes, the G4 evaluation) can be imported: it is in a
    clone's source tree, never in the creditdesk wheel."""
    return importlib.util.find_spec("creditdesk_devtools") is not None


def devtools_missing(name: str):
    """A stand-in for ``creditdesk fake <name>`` that says, in words, what to install."""

    def command(ctx: typer.Context) -> None:
        typer.echo(f"creditdesk fake {name} needs the dev tools (the creditdesk_devtools "
                   "package), which the creditdesk package does not ship. Run it from a clone "
                   "of the repository after `make dev` (pip install -e '.[dev]').", err=True)
        raise typer.Exit(2)

    command.__doc__ = f"Needs the dev tools: `make dev` in a clone (fake {name})."
    return command


if devtools_installed():
    from creditdesk_devtools.fakes.intacct_cli import fake_sage_intacct
    from creditdesk_devtools.fakes.qbo_cli import fake_quickbooks_online
    from creditdesk_devtools.fakes.qbwc_cli import web_connector as fake_web_connector
    from creditdesk_devtools.fakes.xero_cli import fake_xero

    fake_app.command("quickbooks-online")(fake_quickbooks_online)
    fake_app.command("xero")(fake_xero)
    fake_app.command("sage-intacct")(fake_sage_intacct)
    fake_app.command("web-connector")(fake_web_connector)
else:
    for _name in FAKES:
        fake_app.command(_name, context_settings={"allow_extra_args": True,
                                                  "ignore_unknown_options": True})(
            devtools_missing(_name))
