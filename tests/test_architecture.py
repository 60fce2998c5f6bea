"""The shape of the code: three layers and the console script above them, no import that runs
back up a layer (not even under TYPE_CHECKING), and no circle of imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"model": 0, "experiments": 1, "viz": 2, "cli": 3}
"""A package may import its own layer and those below it (viz may use experiments)."""


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules a file imports, anywhere in it (top level, functions, TYPE_CHECKING)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {n for n in names if n in modules}


def test_no_import_runs_back_up_a_layer() -> None:
    modules = _modules()
    upward = []
    for name, path in modules.items():
        layer = LAYERS[name.split(".")[0]]
        for target in _imports(path, modules):
            if LAYERS[target.split(".")[0]] > layer:
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_no_circle_of_imports() -> None:
    modules = _modules()
    graph = {
        name: {t for t in _imports(path, modules) if t != name and t.count(".")}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_the_simulation_needs_nothing_from_the_layers_above() -> None:
    """model/ is importable and runs with experiments/, viz/ and cli/ absent from its imports."""
    modules = _modules()
    for name, path in modules.items():
        if name.startswith("model"):
            assert all(t.startswith("model") for t in _imports(path, modules)), name
