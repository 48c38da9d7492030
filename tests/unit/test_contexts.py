"""Issue 12 item 1: the services are grouped by context, and the arrows between contexts are
the ones docs/architecture.md draws. A new import across contexts fails here until the
drawing (and this table) says it is meant."""

from __future__ import annotations

from tests.unit.test_import_cycles import PACKAGE, import_graph

SERVICES = "creditdesk.services"

# Which other contexts each context's modules may import (``common`` always may be).
# Use cases never import read models, except the answer shapes they return
# (``read_models.views``); read models may read every context.
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    "access": set(),
    "accounting": set(),
    "customer_accounts": set(),
    "invoicing": {"accounting"},
    # credit_memos ▶ customer_accounts: whether a customer may apply its own credit (P5),
    # whether its credit is applied to new invoices (AU1)
    # credit_memos, books ▶ events: the outbox written in the change's transaction (D5)
    "credit_memos": {"accounting", "invoicing", "customer_accounts", "events"},
    "books": {"customer_accounts", "events"},
    "events": set(),
    "suggesting": {"credit_memos"},
    # documents ▶ customer_accounts: a memo's PDF reaches the portal only while the
    # customer's credit is visible to it (D1, P3)
    "documents": {"customer_accounts"},
    "read_models": {"access", "accounting", "credit_memos", "customer_accounts", "invoicing",
                    "suggesting", "books", "documents", "events"},
}
ANSWER_SHAPES = {f"{SERVICES}.read_models.views"}


def _context(module: str) -> str | None:
    if not module.startswith(SERVICES + "."):
        return None
    return module.split(".")[2]


def test_every_services_module_sits_in_a_known_context() -> None:
    loose = [p.name for p in (PACKAGE / "services").glob("*.py") if p.name != "__init__.py"]
    contexts = {p.parent.name for p in (PACKAGE / "services").glob("*/__init__.py")}
    assert loose == [], "services modules belong in a context package"
    assert contexts == set(ALLOWED), "a context was added or removed: update ALLOWED and the docs"


def test_contexts_import_only_what_the_drawing_allows() -> None:
    graph = import_graph()
    wrong = []
    for module, imports in graph.items():
        own = _context(module)
        if own is None:
            continue
        for target in imports:
            other = _context(target)
            if other in (None, own, "common") or target in ANSWER_SHAPES:
                continue
            if other not in ALLOWED[own]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_demo_loader_is_not_a_service() -> None:
    graph = import_graph()
    assert not [m for m in graph if m.startswith(SERVICES) and "demo" in m]
    assert not [m for m, imports in graph.items() if _context(m)
                for t in imports if t.startswith("creditdesk.demo")]
