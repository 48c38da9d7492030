"""The objects of an outbound event (D4) in the API's own shapes: the answer models of
``responses`` (and ``run_out`` for a sync run), so an event's ``credit_memo`` is what
``GET /credit-memos/{id}`` answers at that moment. Installed into the outbox by every
process that runs use cases (the app, the workers, the CLI)."""

from __future__ import annotations

from typing import Any

from creditdesk.db import models
from creditdesk.services.books import integrations
from creditdesk.services.events import outbox
from creditdesk.web.api import responses
from creditdesk.web.api.run_answers import run_out

MODELS: dict[str, type[responses.Out]] = {
    "credit_memo": responses.MemoOut,
    "invoice": responses.InvoiceOut,
    "application": responses.ApplicationOut,
    "refund": responses.RefundOut,
}


def render(kind: str, obj: object) -> Any:
    if kind == "sync_run":
        assert isinstance(obj, models.SyncRun)
        return _json(run_out(integrations.run_view(obj)))
    return MODELS[kind].model_validate(obj).model_dump(mode="json", by_alias=True)


def _json(value: Any) -> Any:
    from pydantic import TypeAdapter
    return TypeAdapter(Any).dump_python(value, mode="json")


def install() -> None:
    outbox.install(renderer=render)
