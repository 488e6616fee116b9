"""The layout holds: computed from the source with ast (nothing is imported, no side effects run).

Every ``import`` of the ``campuswatch`` package counts, wherever it stands: at the top, under
``if TYPE_CHECKING:``, inside a function. A deferred import still is a dependency, and hiding a cycle
behind one is what these tests are here to stop.

- no cycle between files;
- no cycle between the collector's parts (``alerting``, ``tickets``, ``store``, ``metrics``, ``http``,
  and the modules beside them: ``model``, ``events``, ``ingest``, ``service``, ...);
- ``alerting`` reaches neither ``store`` nor ``tickets``, and ``model`` nothing of the collector;
- ``campuswatch.agent`` reaches nothing of ``campuswatch.collector``, ``sim`` or ``tests`` (the gateway
  installs the agent alone);
- ``campuswatch``, ``sim`` and ``bench`` import nothing of ``tests`` (the simulator and the benchmarks
  are support the tests use, never the other way round);
- every ``campuswatch`` import names a module that exists (mypy is told to ignore missing imports, so a
  stale one after a move would pass it).

``python -m tests.test_architecture`` prints the collector's package graph.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from tests.support.paths import REPO

PACKAGE = "campuswatch"
COLLECTOR = f"{PACKAGE}.collector"
Graph = Mapping[str, frozenset[str]]


def _module_of(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _sources() -> dict[str, Path]:
    """Every module of the package by its dotted name."""
    return {_module_of(path): path for path in sorted((REPO / PACKAGE).rglob("*.py"))}


def imported(source: str, module: str, *, is_package: bool = False) -> set[tuple[str, str | None]]:
    """What the source of ``module`` imports, anywhere in it: ``(X, None)`` for ``import X``, ``(X, y)``
    for ``from X import y`` (``y`` may be a module of package ``X``, or a name defined in ``X``).
    Relative imports are resolved against ``module``."""
    found: set[tuple[str, str | None]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                anchor = base[: len(base) - node.level + 1]
                origin = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            found.update((origin, alias.name) for alias in node.names)
    return found


@cache
def imports() -> dict[str, frozenset[tuple[str, str | None]]]:
    """Module -> what it imports of the package, ``sim`` and ``tests``, as :func:`imported` says."""
    out = {}
    for module, path in _sources().items():
        found = imported(path.read_text(), module, is_package=path.name == "__init__.py")
        out[module] = frozenset(f for f in found if f[0].split(".")[0] in (PACKAGE, "sim", "tests"))
    return out


def _target(origin: str, name: str | None) -> str | None:
    """The module an import depends on: ``X.y`` when that is a module (``from package import module``
    runs the module, not the package's ``__init__`` again), else ``X``; None outside the package."""
    sources = _sources()
    if name is not None and f"{origin}.{name}" in sources:
        return f"{origin}.{name}"
    return origin if origin in sources else None


@cache
def module_graph() -> dict[str, frozenset[str]]:
    """Module -> the package's modules it imports."""
    graph = {}
    for module, found in imports().items():
        targets = {_target(origin, name) for origin, name in found}
        graph[module] = frozenset(t for t in targets if t is not None and t != module)
    return graph


def collector_part(module: str) -> str | None:
    """The part of the collector a module belongs to: its first name below ``campuswatch.collector``."""
    prefix = COLLECTOR + "."
    return module.removeprefix(prefix).split(".")[0] if module.startswith(prefix) else None


def package_graph() -> dict[str, frozenset[str]]:
    """The collector's parts and the other parts each imports."""
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph().items():
        part = collector_part(module)
        if part is None:
            continue
        edges = graph.setdefault(part, set())
        edges.update(p for t in targets if (p := collector_part(t)) is not None and p != part)
    return {part: frozenset(edges) for part, edges in graph.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected parts of ``graph`` with more than one node (Tarjan), each sorted."""
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
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def reachable(graph: Graph, start: Iterable[str]) -> set[str]:
    """Every node reachable from ``start`` (``start`` included)."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_cycle_finder_finds_cycles_and_only_cycles() -> None:
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({**graph, "c": frozenset()}) == []
    assert reachable(graph, ["d"]) == {"a", "b", "c", "d"}


def test_every_kind_of_import_counts() -> None:
    source = """
import campuswatch.report
from typing import TYPE_CHECKING
from campuswatch.collector import model
from .sibling import thing
if TYPE_CHECKING:
    from campuswatch.collector.store.protocols import Store
def later():
    from campuswatch.collector.service import CollectorService
"""
    assert imported(source, "campuswatch.collector.tickets.lifecycle") == {
        ("campuswatch.report", None),
        ("typing", "TYPE_CHECKING"),
        ("campuswatch.collector", "model"),
        ("campuswatch.collector.tickets.sibling", "thing"),
        ("campuswatch.collector.store.protocols", "Store"),
        ("campuswatch.collector.service", "CollectorService"),
    }
    assert _target("campuswatch.collector", "model") == "campuswatch.collector.model"
    assert _target("campuswatch.collector.model", "School") == "campuswatch.collector.model"
    graph = module_graph()
    assert f"{COLLECTOR}.model" in graph[f"{COLLECTOR}.alerting.device"]
    assert len(graph) == len(_sources()) > 100


def test_every_import_of_the_package_names_a_module_that_exists() -> None:
    missing = {
        (module, origin)
        for module, found in imports().items()
        for origin, _ in found
        if origin.split(".")[0] == PACKAGE and origin not in _sources()
    }
    assert not missing


def test_no_cycle_between_files() -> None:
    assert cycles(module_graph()) == []


def test_no_cycle_between_the_collectors_parts() -> None:
    assert cycles(package_graph()) == []


def test_alerting_reaches_neither_store_nor_tickets_and_the_model_nothing_of_the_collector() -> None:
    graph = package_graph()
    assert reachable(graph, ["alerting"]) & {"store", "tickets", "metrics", "http", "service"} == set()
    assert graph["model"] == frozenset()


def test_the_agent_reaches_nothing_of_the_collector_sim_or_tests() -> None:
    graph = module_graph()
    agent = [m for m in graph if m == f"{PACKAGE}.agent" or m.startswith(f"{PACKAGE}.agent.")]
    closure = reachable(graph, agent)
    assert {m for m in closure if m.startswith(COLLECTOR)} == set()
    foreign = {
        (module, origin)
        for module in closure
        for origin, _ in imports()[module]
        if origin.split(".")[0] in ("sim", "tests")
    }
    assert not foreign


def test_nothing_but_the_tests_imports_the_tests() -> None:
    offenders = {
        (str(path.relative_to(REPO)), origin)
        for folder in (PACKAGE, "sim", "bench")
        for path in sorted((REPO / folder).rglob("*.py"))
        for origin, _ in imported(path.read_text(), _module_of(path), is_package=path.name == "__init__.py")
        if origin.split(".")[0] == "tests"
    }
    assert offenders == set()


if __name__ == "__main__":
    for part, edges in sorted(package_graph().items()):
        print(f"{part:>13} -> {', '.join(sorted(edges)) or '-'}")
