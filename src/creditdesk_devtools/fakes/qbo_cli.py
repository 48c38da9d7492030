"""``creditdesk fake quickbooks-online``: serve a fake QuickBooks Online company on localhost.

Wired into ``cli_sync.fake_app`` with ``fake_app.command("quickbooks-online")(…)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from creditdesk_devtools.fakes import cli_seed

REALM = "9130355"


def fake_quickbooks_online(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8765,
    memos: Annotated[int, typer.Option(help="Credit memos to start with")] = 12,
    invoices: cli_seed.Invoices = 8,
    country: Annotated[str, typer.Option(help="The company's country (US, CA, GB…)")] = "US",
) -> None:
    """Serve a fake QuickBooks Online company on localhost and print how to point at it."""
    import uvicorn

    from creditdesk_devtools.fakes.qbo import create_app

    state = seeded(memos, invoices, country)
    base = f"http://127.0.0.1:{port}"
    typer.echo(
        "Fake QuickBooks Online ready. Start CreditDesk with:\n"
        f"  export CREDITDESK_QBO_API_BASE={base}/v3 CREDITDESK_QBO_AUTH_URL={base}/connect/oauth2"
        f" CREDITDESK_QBO_TOKEN_URL={base}/oauth2/v1/tokens/bearer"
        f" CREDITDESK_QBO_CLIENT_ID={state.client_id}"
        f" CREDITDESK_QBO_CLIENT_SECRET={state.client_secret}"
        f" CREDITDESK_QBO_WEBHOOK_VERIFIER={state.verifier}\n", err=True)
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="info")


def seeded(memos: int, invoices: int, country: str = "US"):  # -> FakeQboState
    """The company the command serves: ``cli_seed``'s memos and invoices as QuickBooks
    writes them (an invoice's balance is what is still owed on it)."""
    from creditdesk_devtools.fakes.qbo_state import FakeQboState

    state = FakeQboState()
    state.add_company(REALM, "Harbor Books (fake)", country)
    for memo in cli_seed.memos(memos):
        state.add_memo(REALM, total=cli_seed.usd(memo.total),
                       remaining=cli_seed.usd(memo.open), customer_id=str(memo.customer),
                       customer_name=memo.name)
    for inv in cli_seed.invoices(invoices):
        state.add_invoice(REALM, total=cli_seed.usd(inv.total),
                          balance=cli_seed.usd(inv.open), tax=cli_seed.usd(cli_seed.TAX),
                          customer_id=str(inv.customer), customer_name=inv.name)
    return state
