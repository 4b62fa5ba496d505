"""The shape of the house (issue 11): read the import graph of ``harness/`` with ``ast`` and
fail on any import circle between modules, and on any import from a lower layer into a higher
one. A new module must be given a layer here, so the layout stays a decision, not an accident.

Every import of a ``ctph_harness`` module counts: relative or absolute, at the top of a module,
inside a function (the lazy imports that keep start-up light) or under ``TYPE_CHECKING`` (a type
is a dependency too, and the issue counted ``posthog/cors`` <-> ``posthog/exchange``, a type
hint, as a circle). The package root's ``_LAZY`` table names its modules as strings; the root
is the top layer, so those are downward anyway.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "harness"
ROOT = ""  # the package root, ctph_harness/__init__.py

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # bottom to top; a module may import from its own layer and the layers below it
    (
        "foundation",
        (
            "errors",
            "redact",
            "version",
            "contract",
            "excerpts",
            "files",
            "findings",
            "locate",
            "schemas",
            "verdict",
        ),
    ),
    # PostHog as it is: the capture contract, the checker, the fake server. Knows nothing of
    # CleverTap.
    ("the PostHog wing", ("posthog",)),
    # CleverTap as it is: the Liquid dialect, templates, profiles. Reads rendered JSON the way
    # PostHog's parser does (posthog.serde), so it sits above the PostHog wing.
    ("the CleverTap wing", ("clevertap", "clevertap.export")),
    # what a run is told (settings, tracking plan) and what it finds (per-profile outcome,
    # the report model)
    ("settings and results", ("config", "tracking_plan", "profile_outcome", "reports.model")),
    ("the per-template pipeline (pure: no server, no network)", ("engine",)),
    ("delivery to a fake or live PostHog", ("delivery",)),
    ("the multi-template run, which owns the fake server", ("runner",)),
    ("report formats and the one report-file writer", ("reports",)),
    ("what the terminal can show (colour, encoding)", ("terminal",)),
    ("the edges: command line and pytest plugin", ("cli", "pytest_plugin")),
    # `python -m ctph_harness`, which only calls cli.main
    ("the module entry point", ("__main__",)),
    ("the package root: the public names, imported lazily; nothing imports it", (ROOT,)),
)


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _shown(module: str) -> str:
    return "ctph_harness" + (f".{module}" if module else "")


@cache
def modules() -> dict[str, Path]:
    return {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(module: str, path: Path) -> Iterator[str]:
    """The ctph_harness modules ``module`` imports (a name imported from a package counts as
    its submodule when it is one, else as the package)."""
    known = modules()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "ctph_harness" or alias.name.startswith("ctph_harness."):
                    yield alias.name.removeprefix("ctph_harness").lstrip(".")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module == "ctph_harness" or (node.module or "").startswith("ctph_harness."):
                target = (node.module or "").removeprefix("ctph_harness").lstrip(".")
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                yield sub if sub in known else target


@cache
def graph() -> dict[str, frozenset[str]]:
    return {
        module: frozenset(set(_imported(module, path)) - {module})
        for module, path in modules().items()
    }


def layer_of(module: str) -> int:
    """The layer of the longest declared name that is ``module`` or a package holding it."""
    best: tuple[int, int] | None = None  # (length of the declared name, layer)
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            holds = module == name or (name != ROOT and module.startswith(name + "."))
            if holds and (best is None or len(name) > best[0]):
                best = (len(name), index)
    if best is None:
        raise KeyError(module)
    return best[1]


def test_the_graph_is_read() -> None:
    """Guards the reader: a few edges every layout has."""
    edges = graph()
    assert "engine" in edges["runner"] and "delivery" in edges["runner"]
    assert "posthog.checker" in edges["engine"]
    assert "findings" in edges["schemas"]
    assert all(target in modules() for targets in edges.values() for target in targets)


def test_every_module_has_a_layer() -> None:
    unplaced = []
    for module in modules():
        try:
            layer_of(module)
        except KeyError:
            unplaced.append(_shown(module))
    assert unplaced == [], "give each new module a layer in LAYERS"


def test_no_import_from_a_lower_layer_into_a_higher_one() -> None:
    upward = [
        f"{_shown(source)} ({LAYERS[layer_of(source)][0]}) imports {_shown(target)} "
        f"({LAYERS[layer_of(target)][0]})"
        for source, targets in sorted(graph().items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(source)
    ]
    assert upward == []


def _strongly_connected(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """Tarjan's algorithm; the components of more than one module are the circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _a_circle(component: list[str], edges: dict[str, frozenset[str]]) -> list[str]:
    """One shortest way round a component, for the message."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(edges[node] & members):
            if succ == start:
                return [*paths[node], start]
            if succ not in paths:
                paths[succ] = [*paths[node], succ]
                queue.append(succ)
    return component


def test_no_import_circles() -> None:
    edges = graph()
    circles = [
        " -> ".join(_shown(m) for m in _a_circle(component, edges))
        for component in _strongly_connected(edges)
    ]
    assert circles == []


@pytest.mark.parametrize(
    "forbidden", ["posthog.server", "posthog.app", "posthog.standalone", "delivery", "runner"]
)
def test_the_engine_is_pure(forbidden: str) -> None:
    """``engine`` renders and checks one template; starting a server or sending is the run's
    job. Nothing it reaches, directly or not, may start one."""
    reached: set[str] = set()
    todo = ["engine"]
    while todo:
        for target in graph()[todo.pop()] - reached:
            reached.add(target)
            todo.append(target)
    assert forbidden not in reached


def test_the_reader_finds_circles_and_upward_imports() -> None:
    """The two checks above, on a made-up graph, so a passing run means something."""
    edges = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}
    assert _strongly_connected(edges) == [["a", "b", "c"]]
    assert _a_circle(["a", "b", "c"], edges) == ["a", "b", "c", "a"]
    assert layer_of("posthog.wire") < layer_of("clevertap.render") < layer_of("engine")
    assert layer_of("reports.model") < layer_of("engine") < layer_of("reports.html")
