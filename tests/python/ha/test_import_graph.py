"""The integration's modules import each other without a circle, and the flows without the runtime half.

Every relative import counts, those for type checking too: a circle there
still means two modules that cannot be read one without the other.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter

import pytest
from conftest import ROOT

PACKAGE = ROOT / "custom_components" / "victron_gx_modbus"
RUNTIME_HALF = {
    "entity",
    "coordinator",
    "devices",
    "hub",
    "platform_setup",
    "sweep",
    "mqtt_refresh",
}
"""Modules of a loaded entry, which setting up a flow has no use for."""


def imports_of(module: str) -> set[str]:
    """The package's modules that `module` imports (relative imports, type-checking ones included)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:  # from . import const
                found.update(alias.name for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    """Every module of the package with the package modules it imports."""
    return {path.stem: imports_of(path.stem) for path in PACKAGE.glob("*.py")}


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    """The modules `start` imports, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for module in edges.get(todo.pop(), set()) - seen:
            seen.add(module)
            todo.append(module)
    return seen


def test_no_import_circle() -> None:
    edges = graph()
    assert len(edges) >= 30
    order = list(TopologicalSorter(edges).static_order())  # raises CycleError naming the circle
    assert set(order) >= set(edges)


def test_the_flows_import_only_what_flows_need() -> None:
    edges = graph()
    for flow in ("config_flow", "options_flow"):
        pulled = reachable(flow, edges) & RUNTIME_HALF
        assert not pulled, f"{flow} pulls in {sorted(pulled)}"


def test_a_circle_would_be_seen() -> None:
    assert reachable("a", {"a": {"b"}, "b": {"a"}}) == {"a", "b"}
    with pytest.raises(CycleError):
        list(TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())
