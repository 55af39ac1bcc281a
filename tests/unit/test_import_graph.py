"""The shape of the package (issue 33): no import cycle among grok_tui's modules, and no
module over MAX_LINES lines.

The graph is read from each module's AST, so that an import inside a function or under
``if TYPE_CHECKING:`` counts as much as one at the top: a cycle hidden in a function
still ties two modules together (and fails at the first call made while one of them is
half imported). ``from pkg import name`` leads to the module ``pkg.name`` when there is
one, else to ``pkg`` itself (its ``__init__``); so a module that takes a name from its
own package is in a cycle only when that package's ``__init__`` imports it back.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "grok_tui"
MAX_LINES = 600

Graph = dict[str, set[str]]


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Each module's dotted name and its file (a package by its ``__init__.py``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The dotted names one import statement asks for (``from a import b``: ``a.b``, and
    ``a`` for when ``b`` is not a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: from its own package (level 1) or one above it
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join([*base, *([node.module] if node.module else [])])
    else:
        prefix = node.module or ""
    return [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]


def import_graph(found: dict[str, Path]) -> Graph:
    """Module -> the modules of the package it imports, anywhere in its body."""
    graph: Graph = {name: set() for name in found}
    for name, path in found.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            wanted = imported(node, name, is_package)
            if isinstance(node, ast.ImportFrom):
                # ``from a import b``: the module a.b when b is one, else a itself
                *names, prefix = wanted
                targets = [n if n in found else prefix for n in names]
            else:
                targets = wanted
            for target in targets:
                while target and target not in found:  # a name inside a module: the module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def chain(graph: Graph, component: list[str]) -> list[str]:
    """One shortest cycle through the component's first module: a -> b -> ... -> a."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in came_from:
                    came_from[w] = v
                    nxt.append(w)
        frontier = nxt
    return component  # pragma: no cover - a component always holds a cycle


def describe(graph: Graph, components: list[list[str]]) -> str:
    return "\n".join(
        f"{len(c)} modules: {' -> '.join(chain(graph, c))}  (all: {', '.join(c)})"
        for c in components
    )


def test_the_graph_sees_imports_in_functions_under_type_checking_and_from_the_package(
    tmp_path: Path,
) -> None:
    """The reader itself, on a made-up package: a module taking a name from its package's
    __init__ that imports it back is a cycle, one taking a module from it is not."""
    sources = {
        "pkg/__init__.py": "from .b import B\nNAME = 1\n",
        "pkg/b.py": "from pkg import NAME\nB = NAME\n",  # pkg -> pkg.b -> pkg
        "pkg/c.py": "from pkg import b\n",  # the module pkg.b: no cycle
        "pkg/d.py": "from pkg import NAME\n",  # pkg never imports d: no cycle
        "pkg/sub/__init__.py": "",
        "pkg/sub/x.py": "def f():\n    from ..sub import y\n    return y\n",
        "pkg/sub/y.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .x import f\n"
        ),
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(modules(tmp_path / "pkg"))
    assert graph["pkg.c"] == {"pkg.b"} and graph["pkg.d"] == {"pkg"}
    assert cycles(graph) == [["pkg", "pkg.b"], ["pkg.sub.x", "pkg.sub.y"]]
    assert chain(graph, ["pkg.sub.x", "pkg.sub.y"]) == ["pkg.sub.x", "pkg.sub.y", "pkg.sub.x"]


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph(modules())
    found = cycles(graph)
    assert not found, f"{len(found)} import cycle(s):\n{describe(graph, found)}"


def test_no_module_is_over_600_lines() -> None:
    over = {
        str(path.relative_to(REPO)): n
        for path in modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not over, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{name} ({n})" for name, n in sorted(over.items(), key=lambda kv: -kv[1])
    )
