"""``creditdesk fake xero``: serve a fake Xero organisation on localhost.

Wired into ``cli_sync.fake_app`` with ``fake_app.command("xero")(fake_xero)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from creditdesk_devtools.fakes import cli_seed

TENANT = "f6f1b2c3-0000-4000-8000-00000000abcd"


def fake_xero(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8766,
    memos: Annotated[int, typer.Option("--memos", "--notes",
                                       help="Credit notes (credit memos) to start with")] = 12,
    invoices: cli_seed.Invoices = 8,
    country: Annotated[str, typer.Option(help="The organisation's country (US, GB, NZ…)")] = "US",
    minute_limit: Annotated[int, typer.Option(help="Calls per minute before 429 (0: none)")] = 60,
) -> None:
    """Serve a fake Xero organisation on localhost and print how to point at it."""
    import uvicorn

    from creditdesk_devtools.fakes.xero import create_app

    state = seeded(memos, invoices, country, minute_limit or None)
    base = f"http://127.0.0.1:{port}"
    typer.echo(
        "Fake Xero ready. Start CreditDesk with:\n"
        f"  export CREDITDESK_XERO_API_BASE={base}/api.xro/2.0"
        f" CREDITDESK_XERO_AUTH_URL={base}/identity/connect/authorize"
        f" CREDITDESK_XERO_TOKEN_URL={base}/connect/token"
        f" CREDITDESK_XERO_CONNECTIONS_URL={base}/connections"
        f" CREDITDESK_XERO_CLIENT_ID={state.client_id}"
        f" CREDITDESK_XERO_CLIENT_SECRET={state.client_secret}"
        f" CREDITDESK_XERO_WEBHOOK_KEY={state.webhook_key}\n", err=True)
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="info")


def contact(customer: int) -> str:
    return f"00000000-0000-4000-8000-0000000000{customer}"


def seeded(memos: int, invoices: int, country: str = "US",
           minute_limit: int | None = 60):  # -> FakeXeroState
    """The organisation the command serves: ``cli_seed``'s credit notes (their used credit
    as allocations) and invoices (tax-exclusive lines, what is paid as payments), as Xero
    writes them."""
    from creditdesk_devtools.fakes.xero_state import FakeXeroState

    state = FakeXeroState(minute_limit=minute_limit)
    state.add_org(TENANT, "Harbor Books (fake)", country)
    for memo in cli_seed.memos(memos):
        note = state.add_credit_note(TENANT, total=cli_seed.usd(memo.total),
                                     contact_id=contact(memo.customer), contact_name=memo.name)
        if memo.open < memo.total:
            state.allocate(TENANT, note, cli_seed.usd(memo.total - memo.open))
    for inv in cli_seed.invoices(invoices):
        invoice = state.add_invoice(TENANT, subtotal=cli_seed.usd(inv.total - cli_seed.TAX),
                                    tax=cli_seed.usd(cli_seed.TAX),
                                    contact_id=contact(inv.customer), contact_name=inv.name)
        if inv.open < inv.total:
            state.pay_invoice(TENANT, invoice, cli_seed.usd(inv.total - inv.open))
    return state
