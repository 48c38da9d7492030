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
    from creditdesk.jobs import queue
    from creditdesk.jobs import sync as sync_jobs

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

        tidy = housekeeping.Every()
        try:
            while True:
                for app_id in sync_jobs.write_back_due(db, build):
                    typer.echo(f"wrote back {app_id}", err=True)
                for run_id in sync_jobs.run_pending(db, build):
                    typer.echo(f"ran {run_id}", err=True)
                tidy.run_if_due(db)
                time.sleep(tick)
        except KeyboardInterrupt:
            pass
        finally:
            db.dispose()


def fake_quickbooks_online(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8765,
    memos: Annotated[int, typer.Option(help="Credit memos to start with")] = 12,
    country: Annotated[str, typer.Option(help="The company's country (US, CA, GB…)")] = "US",
) -> None:
    """Serve a fake QuickBooks Online company on localhost and print how to point at it."""
    import uvicorn

    from creditdesk_devtools.fakes.qbo import create_app
    from creditdesk_devtools.fakes.qbo_state import FakeQboState

    state = FakeQboState()
    state.add_company("9130355", "Harbor Books (fake)", country)
    for n in range(memos):
        total = 50 + 25 * n
        remaining = (total, total // 2, 0)[n % 3]
        state.add_memo("9130355", total=f"{total}.00", remaining=f"{remaining}.00",
                       customer_id=str(58 + n % 4), customer_name=f"Customer {58 + n % 4}")
    base = f"http://127.0.0.1:{port}"
    typer.echo(
        "Fake QuickBooks Online ready. Start CreditDesk with:\n"
        f"  export CREDITDESK_QBO_API_BASE={base}/v3 CREDITDESK_QBO_AUTH_URL={base}/connect/oauth2"
        f" CREDITDESK_QBO_TOKEN_URL={base}/oauth2/v1/tokens/bearer"
        f" CREDITDESK_QBO_CLIENT_ID={state.client_id}"
        f" CREDITDESK_QBO_CLIENT_SECRET={state.client_secret}"
        f" CREDITDESK_QBO_WEBHOOK_VERIFIER={state.verifier}\n", err=True)
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="info")


def fake_xero(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8766,
    notes: Annotated[int, typer.Option(help="Credit notes to start with")] = 12,
    country: Annotated[str, typer.Option(help="The organisation's country (US, GB, NZ…)")] = "US",
    minute_limit: Annotated[int, typer.Option(help="Calls per minute before 429 (0: none)")] = 60,
) -> None:
    """Serve a fake Xero organisation on localhost and print how to point at it."""
    from creditdesk_devtools.fakes import xero_cli

    xero_cli.serve(port, notes, country, minute_limit or None)


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
    from creditdesk_devtools.fakes.qbwc_cli import web_connector as fake_web_connector

    fake_app.command("quickbooks-online")(fake_quickbooks_online)
    fake_app.command("xero")(fake_xero)
    fake_app.command("sage-intacct")(fake_sage_intacct)
    fake_app.command("web-connector")(fake_web_connector)
else:
    for _name in FAKES:
        fake_app.command(_name, context_settings={"allow_extra_args": True,
                                                  "ignore_unknown_options": True})(
            devtools_missing(_name))
