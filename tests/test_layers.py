"""The import graph of the desk's packages: no cycles inside tools/, and no layer importing one above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("store", "tools", "agent", "ui", "server")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports anywhere (top level, in functions, for type checking)."""
    modules = {_module_name(p): p for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                # ``from tools import kb`` names a module too.
                targets.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_tools_modules_import_each_other_without_cycles() -> None:
    assert cycles(import_graph("tools")) == []


def test_the_desk_and_its_knowledge_services_do_not_import_search_or_ingestion() -> None:
    graph = import_graph("tools")
    assert not graph["tools.knowledge_service"] & {"tools.desk", "tools.search", "tools.knowledge"}
    assert not graph["tools.desk"] & {"tools.search", "tools.knowledge"}


def test_knowledge_and_kb_modules_stay_a_few_hundred_lines() -> None:
    for module in KNOWLEDGE_MODULES:
        path = ROOT / (module.replace(".", "/") + ".py")
        assert len(path.read_text().splitlines()) <= 400, f"{path.name} is over 400 lines: split it"


KNOWLEDGE_MODULES = [
    "tools.desk",
    "tools.knowledge_service",
    "tools.search_models",
    "tools.search",
    "tools.knowledge_models",
    "tools.knowledge_query",
    "tools.knowledge",
    "tools.ingest_pipeline",
    "tools.ingest_runner",
    "tools.kb_models",
    "tools.kb",
    "tools.kb_query",
]


@pytest.mark.parametrize("module", KNOWLEDGE_MODULES)
def test_each_knowledge_module_imports_on_its_own(module: str) -> None:
    # A fresh interpreter per module: an import cycle shows up as an ImportError of a half-initialised module.
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
