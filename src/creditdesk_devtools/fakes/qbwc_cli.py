"""``creditdesk fake web-connector``: a fake QuickBooks Web Connector with a fake company
file, driving a running CreditDesk's ``/qbwc`` once (as "Update Selected" does)."""

from __future__ import annotations

from typing import Annotated

import typer


def web_connector(
    url: Annotated[str, typer.Option(help="CreditDesk's Web Connector URL (AppURL in the "
                                          ".qwc file)")] = "http://127.0.0.1:8000/qbwc",
    user: Annotated[str, typer.Option(help="The Web Connector user name CreditDesk "
                                           "generated")] = "",
    password: Annotated[str, typer.Option(help="The password CreditDesk showed once")] = "",
    memos: Annotated[int, typer.Option(help="Credit memos in the fake company file "
                                            "(more than 100 pages through an iterator)")] = 12,
    invoices: Annotated[int, typer.Option(help="Invoices in the fake company file (Y9)")] = 0,
    country: Annotated[str, typer.Option(help="QuickBooks edition: US, CA or UK")] = "US",
) -> None:
    """Run one Web Connector update against CreditDesk from a fake company file."""
    import httpx

    from creditdesk_devtools.fakes.qbwc_client import FakeWebConnector
    from creditdesk_devtools.fakes.qbwc_company import FakeCompany

    if not user or not password:
        raise typer.BadParameter("--user and --password are required (POST "
                                 "/api/v1/integrations {\"provider\": \"quickbooks_desktop\"} "
                                 "gives both)")
    company = FakeCompany(country=country.upper())
    for n in range(memos):
        total = 50 + 25 * n
        txn = company.add_memo(f"{total}.00", (f"{total}.00", f"{total // 2}.00", "0.00")[n % 3],
                               customer_id=f"8000005{n % 4}-1700000000",
                               customer_name=f"Customer {58 + n % 4}")
        if n % 7 == 6:
            company.void(txn)
    for n in range(invoices):
        subtotal = 100 + 40 * n
        company.add_invoice(f"{subtotal}.00", (None, f"{subtotal // 2}.00", "0.00")[n % 3],
                            customer_id=f"8000005{n % 4}-1700000000",
                            customer_name=f"Customer {58 + n % 4}")
    with httpx.Client(timeout=60.0) as client:
        outcome = FakeWebConnector(client, url, user, password, company).run()
    for line in outcome.log:
        typer.echo(line, err=True)
    if outcome.last_error:
        typer.echo(f"getLastError: {outcome.last_error}", err=True)
        raise typer.Exit(1)
