"""Issue 12 item 4: no import cycles inside ``src/creditdesk`` (nor the dev tools'
``src/creditdesk_devtools``), and only the web layer builds
URL paths of CreditDesk's own app (services and connectors are handed what they need)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "creditdesk"
PACKAGES = (PACKAGE, SRC / "creditdesk_devtools")  # the shipped package and the dev tools


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """Every creditdesk module ``path`` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test)
                   for n in ast.walk(block)}  # not imported when the program runs
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{a.name}" for a in node.names} & modules
            found.update(submodules)  # ``from pkg import module`` needs the module, and
            if len(submodules) < len(node.names):  # the package only for its own names
                found.add(base)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for root in PACKAGES for p in root.rglob("*.py")}
    modules = set(files)
    return {n: _imports(files[n], n, modules) for n in sorted(modules)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycles_inside_creditdesk() -> None:
    graph = import_graph()
    assert "creditdesk.services.books.integrations" in graph
    assert cycles(graph) == []


# a string (or f-string, after a leading ``{base}``) starting with one of our own paths
OWN_PATHS = re.compile(r"""["'](\{[^}"'\n]*\})?/(api/v1|dashboard|qbwc|portal)\b""")


def test_only_the_web_layer_builds_urls_of_our_own_app() -> None:
    """Services and connectors receive a callback URL or return data; web/ makes the URL."""
    offenders = []
    for layer in ("services", "connectors", "jobs", "domain", "db"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if OWN_PATHS.search(code):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []
