"""``creditdesk fake xero``: a fake Xero organisation on localhost, for watching a sync."""

from __future__ import annotations

import typer

TENANT = "f6f1b2c3-0000-4000-8000-00000000abcd"


def serve(port: int, notes: int, country: str, minute_limit: int | None) -> None:
    import uvicorn

    from creditdesk_devtools.fakes.xero import create_app
    from creditdesk_devtools.fakes.xero_state import FakeXeroState

    state = FakeXeroState(minute_limit=minute_limit)
    state.add_org(TENANT, "Harbor Books (fake)", country)
    for n in range(notes):
        total = 50 + 25 * n
        note = state.add_credit_note(TENANT, total=f"{total}.00",
                                     contact_id=f"00000000-0000-4000-8000-0000000000{58 + n % 4}",
                                     contact_name=f"Customer {58 + n % 4}")
        if n % 3 == 1:
            state.allocate(TENANT, note, f"{total // 2}.00")
        elif n % 3 == 2:
            state.allocate(TENANT, note, f"{total}.00")
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
