"""The package layout: the library never imports the CLI, and fuzzjax modules import no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import fuzzjax

PACKAGE = Path(fuzzjax.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """fuzzjax modules imported anywhere in ``path`` (function bodies included), except under
    ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name in MODULES}


FILES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
MODULES = set(FILES)
GRAPH = {name: _imports(path) - {name} for name, path in FILES.items()}


def test_no_library_module_imports_the_cli() -> None:
    offenders = {
        name: sorted(m for m in deps if m.startswith("fuzzjax.cli"))
        for name, deps in GRAPH.items()
        if not name.startswith("fuzzjax.cli") and name != "fuzzjax.__main__"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_relative_imports_are_not_used() -> None:
    relative = [
        name
        for name, path in FILES.items()
        if any(
            isinstance(n, ast.ImportFrom) and n.level > 0
            for n in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert relative == []


def _cycles() -> list[list[str]]:
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
        for w in sorted(GRAPH[v]):
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

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


#: Imports inside functions that close a cycle on purpose, with the reason.
ALLOWED_LAZY = {
    # ``Program.fn/lower/inputs`` are conveniences over the stages that take a Program.
    ("fuzzjax.program", "fuzzjax.lowering.lower"),
    ("fuzzjax.program", "fuzzjax.fuzzing.inputs"),
}


def test_modules_import_no_cycle() -> None:
    for source, target in ALLOWED_LAZY:
        assert target in GRAPH[source], f"{source} no longer imports {target}: drop the entry"
        GRAPH[source].discard(target)
    assert _cycles() == []
