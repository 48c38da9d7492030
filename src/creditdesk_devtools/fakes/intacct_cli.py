"""``creditdesk fake sage-intacct``: serve a fake Sage Intacct company on localhost.

Wired into ``cli_sync.fake_app`` with ``fake_app.command("sage-intacct")(fake_sage_intacct)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

COMPANY, USER, PASSWORD = "HARBOR-FAKE", "api_user", "api-user-pw"


def fake_sage_intacct(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8767,  # xero: 8766
    memos: Annotated[int, typer.Option(help="Credit memos (AR adjustments) to start with")] = 12,
    invoices: Annotated[int, typer.Option(help="AR invoices to start with")] = 8,
) -> None:
    """Serve a fake Sage Intacct XML gateway on localhost and print how to connect to it."""
    import uvicorn

    from creditdesk_devtools.fakes.intacct import PATH, create_app
    from creditdesk_devtools.fakes.intacct_state import FakeIntacctState

    state = FakeIntacctState()
    state.add_company(COMPANY, USER, PASSWORD)
    for n in range(memos):
        total = 50 + 25 * n
        due = (total, total // 2, 0)[n % 3]
        state.add_adjustment(COMPANY, total=f"-{total}.00", due=f"-{due}.00" if due else "0",
                             customer_id=f"C-{58 + n % 4:04d}",
                             customer_name=f"Customer {58 + n % 4}")
    state.add_adjustment(COMPANY, total="40.00")  # a debit memo: not synced
    for n in range(invoices):
        total = 400 + 100 * n
        due = (total, total - 150, 0)[n % 3]
        state.add_invoice(COMPANY, total=f"{total}.00", due=f"{due}.00" if due else "0",
                          customer_id=f"C-{58 + n % 4:04d}", customer_name=f"Customer {58 + n % 4}",
                          lines=[("Services", f"{total - 40}.00"), ("Sales tax", "40.00")])
    endpoint = f"http://127.0.0.1:{port}{PATH}"
    typer.echo(
        "Fake Sage Intacct ready. Start CreditDesk with:\n"
        f"  export CREDITDESK_INTACCT_ENDPOINT={endpoint}\n"
        "and connect a Sage Intacct integration with:\n"
        f"  sender_id={state.sender_id} sender_password={state.sender_password}"
        f" company_id={COMPANY} user_id={USER} user_password={PASSWORD}\n", err=True)
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="info")
