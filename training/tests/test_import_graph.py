"""The Python pipeline's import graph (training/, experiments/, synth/; tests left out) has no circle:
issue 21 removed pretrain ↔ train, and a new one would bring back lazy imports to break it."""

from __future__ import annotations

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("training", "experiments", "synth")


def modules() -> dict[str, str]:
    found = {}
    for pkg in PACKAGES:
        for folder, dirs, files in os.walk(os.path.join(ROOT, pkg)):
            dirs[:] = [d for d in dirs if d not in ("tests", "__pycache__")]
            for f in files:
                if f.endswith(".py"):
                    name = os.path.relpath(os.path.join(folder, f), ROOT)[:-3].replace(os.sep, ".")
                    found[name.removesuffix(".__init__")] = os.path.join(folder, f)
    return found


def imports(name: str, path: str, known: dict[str, str]) -> set[str]:
    """Project modules a file imports anywhere in it (function-local and relative imports count too)."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:
                full = f"{module}.{alias.name}"
                out.add(full if full in known else module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in known}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, str] = {}
    found = []

    def visit(u: str, path: list[str]) -> None:
        state[u] = "open"
        for v in sorted(graph[u]):
            if state.get(v) == "open":
                found.append(path[path.index(v) :] + [v])
            elif v not in state:
                visit(v, path + [v])
        state[u] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return found


def test_the_pipeline_imports_no_circle():
    known = modules()
    assert "training.train" in known and "experiments.paper_a" in known
    graph = {m: imports(m, p, known) - {m} for m, p in known.items()}
    assert sum(len(v) for v in graph.values()) > 50
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
