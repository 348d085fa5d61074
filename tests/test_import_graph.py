"""The package's import graph: no circle at import time, and the two circles a review found stay gone."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    found = {}
    for root in [REPO / "sgfkit", *sorted((REPO / "plugins").glob("sgfkit_*"))]:
        for file in root.rglob("*.py"):
            parts = file.relative_to(root.parent).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return found


def _imports(file: Path, modules: dict[str, Path], top_level_only: bool) -> set[str]:
    tree = ast.parse(file.read_text())
    out = set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                out.add(name if name in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {name for name in out if name in modules}


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(file, modules, top_level_only) - {name} for name, file in modules.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_at_import_time():
    graph = _graph(top_level_only=True)
    assert len(graph) > 50
    assert _find_cycle(graph) is None, " -> ".join(_find_cycle(graph) or [])


def test_the_reviewed_pairs_do_not_import_each_other_at_all():
    graph = _graph(top_level_only=False)
    for a, b in (("sgfkit.plugins", "sgfkit.registry"), ("sgfkit_caption.encoders", "sgfkit_caption.training")):
        assert not (b in graph[a] and a in graph[b]), f"{a} and {b} import each other"
