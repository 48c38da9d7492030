"""A sync run as the API answers it (``GET /integrations/{id}/runs``, the
``sync_run.finished`` event)."""

from __future__ import annotations

from typing import Any

from creditdesk.services.books import integrations


def run_out(r: integrations.RunView) -> dict[str, Any]:
    return {"id": r.id, "integration_id": r.integration_id, "trigger": r.trigger,
            "status": r.status, "queued_at": r.queued_at, "started_at": r.started_at,
            "finished_at": r.finished_at, "fetched": r.fetched, "created": r.created,
            "updated": r.updated, "voided": r.voided, "errors": r.errors,
            # Y9: the run's invoices (created, updated, voided above count memos)
            "invoices": {"created": r.invoices_created, "updated": r.invoices_updated,
                         "voided": r.invoices_voided}}
