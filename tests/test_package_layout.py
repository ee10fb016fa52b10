"""The package's layout shows the pipeline: imports point down the layers, never in a circle.

Every import counts, at the top of a module or inside a function: a lazy import that climbs a
layer is still an arrow pointing up.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import REPO

PACKAGE = REPO / "mantis_render"
# Lowest first. A module may import its own layer and the layers below it.
LAYERS = [
    ("base", ["errors", "yaml_source", "cache", "layout", "secrets.references", "__init__"]),
    ("catalogue", ["catalogue"]),
    ("profiles", ["profiles"]),
    ("secrets", ["secrets"]),
    ("outputs and policy", ["outputs", "policy"]),
    ("review and developer helpers", ["review", "developer"]),
    ("the pipeline", ["project"]),
    ("commands", ["commands", "adopt"]),
    ("reporters", ["reporters"]),
    ("command line", ["cli", "__main__"]),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in it."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                child = f"{target}.{alias.name}" if target else alias.name
                found.add(child if child in MODULES else target or "__init__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mantis_render"):
            found.add(node.module.removeprefix("mantis_render").lstrip(".") or "__init__")
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int:
    matches = [
        (len(prefix), index)
        for index, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if name == prefix or name.startswith(prefix + ".")
    ]
    assert matches, f"{name} is in no layer: add it to LAYERS"
    return max(matches)[1]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for name in sorted(graph)
        for target in sorted(graph[name])
        if layer_of(target) > layer_of(name)
    ]


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively: any of two modules is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        layer_of(name)


def test_imports_point_down() -> None:
    assert upward_imports(GRAPH) == []


def test_no_import_cycle() -> None:
    assert import_cycles(GRAPH) == []


def test_the_checks_find_an_upward_import_and_a_cycle() -> None:
    climbing = {**GRAPH, "errors": {"project"}}
    assert upward_imports(climbing) == ["errors (base) imports project (the pipeline)"]
    circle = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(circle) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
