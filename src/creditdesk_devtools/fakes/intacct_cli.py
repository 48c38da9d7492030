"""``creditdesk fake sage-intacct``: serve a fake Sage Intacct company on localhost.

Wired into ``cli_sync.fake_app`` with ``fake_app.command("sage-intacct")(fake_sage_intacct)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from creditdesk_devtools.fakes import cli_seed

COMPANY, USER, PASSWORD = "HARBOR-FAKE", "api_user", "api-user-pw"
BANK = "BOA-OPERATING"  # any account is accepted; Intacct checks it exists [U]


def fake_sage_intacct(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8767,  # xero: 8766
    memos: Annotated[int, typer.Option(help="Credit memos (AR adjustments) to start with")] = 12,
    invoices: cli_seed.Invoices = 8,
) -> None:
    """Serve a fake Sage Intacct XML gateway on localhost and print how to connect to it."""
    import uvicorn

    from creditdesk_devtools.fakes.intacct import PATH, create_app
    from creditdesk_devtools.fakes.intacct_state import FakeIntacctState

    state = FakeIntacctState()
    state.add_company(COMPANY, USER, PASSWORD)
    for memo in cli_seed.memos(memos):
        state.add_adjustment(COMPANY, total=f"-{cli_seed.usd(memo.total)}",
                             due=f"-{cli_seed.usd(memo.open)}" if memo.open else "0",
                             customer_id=f"C-{memo.customer:04d}", customer_name=memo.name)
    state.add_adjustment(COMPANY, total="40.00")  # a debit memo: not synced
    for inv in cli_seed.invoices(invoices):
        state.add_invoice(COMPANY, total=cli_seed.usd(inv.total),
                          due=cli_seed.usd(inv.open) if inv.open else "0",
                          customer_id=f"C-{inv.customer:04d}", customer_name=inv.name,
                          lines=[("Services", cli_seed.usd(inv.total - cli_seed.TAX)),
                                 ("Sales tax", cli_seed.usd(cli_seed.TAX))])
    endpoint = f"http://127.0.0.1:{port}{PATH}"
    typer.echo(
        "Fake Sage Intacct ready. Start CreditDesk with:\n"
        f"  export CREDITDESK_INTACCT_ENDPOINT={endpoint}\n"
        "and connect a Sage Intacct integration with:\n"
        f"  sender_id={state.sender_id} sender_password={state.sender_password}"
        f" company_id={COMPANY} user_id={USER} user_password={PASSWORD}\n"
        "and, to write credit applied in CreditDesk back (optional at connect), the bank\n"
        f"account its AR payments post to:\n  financial_entity={BANK}\n", err=True)
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="info")
