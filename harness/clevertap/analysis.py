"""Static facts about a parsed campaign template, and the findings they alone decide.

Everything here runs once per template (never per profile): which ``Profile``/``Event`` paths
the template reads (profile generation needs them), which tags and filters it uses, and every
``{{ output }}`` with the context that decides how a bad value would hurt (has it a ``default``?
an ``{% if %}`` guard on the same path? is it inside a JSON string in the template text?).
Positions are 1-based line and column, always computed from the user's template text.

Static findings: CTPH002 (outside the dialect) and CTPH005 (unguarded output of a property that
may be missing). CTPH006 needs the profile's values, so :func:`multi_value_findings` is a helper
the engine calls per profile, using only these precomputed facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from liquid import BoundTemplate, Node, RenderContext
from liquid.ast import ConditionalBlockNode
from liquid.builtin.expressions import FilteredExpression, Path
from liquid.builtin.output import OutputNode
from liquid.builtin.tags.case_tag import CaseNode, MultiExpressionBlockNode
from liquid.builtin.tags.if_tag import IfNode
from liquid.builtin.tags.unless_tag import UnlessNode
from liquid.expression import Expression
from liquid.stringify import to_liquid_string
from liquid.token import TOKEN_CONTENT, TOKEN_OUTPUT

from ..findings import Finding, Severity, finding
from ..locate import LineIndex
from .dialect import (
    DOCUMENTED_FILTERS,
    DOCUMENTED_TAGS,
    NEVER_BLANK_FILTERS,
    OBJECTS,
    SHOPIFY_FILTERS,
)
from .tags import AbortNode

__all__ = [
    "PROPERTY_ROOTS",
    "LineIndex",
    "NameUse",
    "OutputFact",
    "PathRead",
    "TemplateFacts",
    "analyze",
    "display_path",
    "json_string_state",
    "multi_value_findings",
    "static_findings",
]

Segment = str | int
PROPERTY_ROOTS = frozenset({"Profile", "Event"})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class PathRead:
    """One read of a global variable path, e.g. ``Profile["Customer Type"]``."""

    segments: tuple[Segment, ...]
    """Root first; stops before a dynamic segment (``Profile[Profile.Key]`` -> ``("Profile",)``)."""
    display: str
    line: int
    column: int
    dynamic: bool = False

    @property
    def root(self) -> str:
        """The root object name (``Profile``, ``Event``, ...)."""
        return str(self.segments[0])


@dataclass(frozen=True)
class NameUse:
    """One use of a tag or filter, located at its name."""

    name: str
    line: int
    column: int


@dataclass(frozen=True)
class OutputFact:
    """One ``{{ ... }}`` output statement and the context that decides how a value can hurt."""

    source: str
    """The statement as written, e.g. ``{{ Profile.Name | default: "there" }}``."""
    index: int
    """Offset of ``{{`` in the template text (trace markers carry it)."""
    line: int
    column: int
    path: tuple[Segment, ...] | None
    """The output's root path when its value starts from a variable; ``None`` for literals."""
    display: str | None
    filters: tuple[str, ...]
    has_default: bool
    guarded: bool
    """Inside an ``{% if %}``/``{% unless %}``/``{% case %}`` whose condition reads this path."""
    in_json_string: bool
    """Between double quotes of the JSON text around it in the template."""
    dynamic: bool = False

    @property
    def root(self) -> str | None:
        """The root object, if the output reads a variable."""
        return None if not self.path else str(self.path[0])


@dataclass(frozen=True)
class TemplateFacts:
    """Everything static analysis learned about a template; immutable and cheap to share."""

    reads: tuple[PathRead, ...] = ()
    filters: tuple[NameUse, ...] = ()
    tags: tuple[NameUse, ...] = ()
    outputs: tuple[OutputFact, ...] = ()

    @property
    def profile_reads(self) -> tuple[PathRead, ...]:
        """Reads of ``Profile.*``."""
        return tuple(r for r in self.reads if r.root == "Profile")

    @property
    def event_reads(self) -> tuple[PathRead, ...]:
        """Reads of ``Event.*``."""
        return tuple(r for r in self.reads if r.root == "Event")

    def profile_paths(self) -> tuple[tuple[Segment, ...], ...]:
        """Distinct ``Profile`` paths without the root, in first-read order."""
        return _distinct(r.segments[1:] for r in self.profile_reads if len(r.segments) > 1)

    def event_paths(self) -> tuple[tuple[Segment, ...], ...]:
        """Distinct ``Event`` paths without the root, in first-read order."""
        return _distinct(r.segments[1:] for r in self.event_reads if len(r.segments) > 1)

    @cached_property
    def printed_properties(self) -> tuple[OutputFact, ...]:
        """Outputs that print a profile or event property as it is (no filter but
        ``default``): what :func:`multi_value_findings` looks at for every profile, so it is
        worked out once per template."""
        return tuple(
            out
            for out in self.outputs
            if out.root in PROPERTY_ROOTS
            and out.path is not None
            and not out.dynamic
            and all(name == "default" for name in out.filters)
        )

    def output_at(self, index: int) -> OutputFact | None:
        """The output statement starting at template offset ``index``."""
        for out in self.outputs:
            if out.index == index:
                return out
        return None


def _distinct(items: Iterable[tuple[Segment, ...]]) -> tuple[tuple[Segment, ...], ...]:
    return tuple(dict.fromkeys(items))


def display_path(segments: Sequence[Segment]) -> str:
    """CleverTap-style spelling: ``Profile.MSG-email``, ``Event["Requested Product"]``."""
    if not segments:
        return ""
    parts = [str(segments[0])]
    for seg in segments[1:]:
        if isinstance(seg, int):
            parts.append(f"[{seg}]")
        elif _IDENT.fullmatch(seg):
            parts.append(f".{seg}")
        else:
            parts.append('["' + seg.replace('"', '\\"') + '"]')
    return "".join(parts)


def _static_segments(raw: Iterable[Any]) -> tuple[tuple[Segment, ...], bool]:
    """Segments up to the first dynamic one, and whether there was one."""
    out: list[Segment] = []
    for seg in raw:
        if isinstance(seg, (str, int)) and not isinstance(seg, bool):
            out.append(seg)
        else:
            return tuple(out), True
    return tuple(out), False


def _expression_paths(expr: Expression) -> Iterator[tuple[Segment, ...]]:
    if isinstance(expr, Path):
        yield _static_segments(expr.path)[0]
    for child in expr.children():
        yield from _expression_paths(child)


def _node_condition_paths(node: Node) -> set[tuple[Segment, ...]]:
    paths: set[tuple[Segment, ...]] = set()
    for expr in node.expressions():
        paths.update(_expression_paths(expr))
    return paths


_GUARD_NODES = (IfNode, UnlessNode, CaseNode, ConditionalBlockNode, MultiExpressionBlockNode)


def _is_guarded(path: tuple[Segment, ...], guards: frozenset[tuple[Segment, ...]]) -> bool:
    # A guard on the path itself or on something below it (`Profile.X.size > 0`) counts.
    return any(g[: len(path)] == path for g in guards if len(g) >= len(path))


def _string_context(template: BoundTemplate, source: str) -> dict[int, bool]:
    """Output offset -> whether the template's JSON text has an open string there.

    Only literal text toggles the state (comments are separate tokens, raw text is content), so
    quotes produced by outputs or inside tags do not count: it is the *template's* view.
    """
    in_string = False
    escaped = False
    result: dict[int, bool] = {}
    for token in template.env.tokenizer()(source):
        if token.kind == TOKEN_OUTPUT:
            result[token.start_index] = in_string
        elif token.kind == TOKEN_CONTENT:
            in_string, escaped = json_string_state(token.value, in_string, escaped)
    return result


def json_string_state(text: str, in_string: bool, escaped: bool) -> tuple[bool, bool]:
    """Whether a JSON string is open (and an escape pending) after ``text``, starting from the
    given state. Shared by static analysis (template text) and CTPH004 blame (rendered text)."""
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and in_string:
            escaped = True
        elif ch == '"':
            in_string = not in_string
    return in_string, escaped


def analyze(template: BoundTemplate, source: str, lines: LineIndex | None = None) -> TemplateFacts:
    """Facts about ``template`` (parsed from ``source``, offsets refer to it)."""
    lines = lines or LineIndex(source)
    analysis = template.analyze(include_partials=False)

    reads: list[tuple[int, PathRead]] = []
    for variables in analysis.globals.values():
        for var in variables:
            segments, dynamic = _static_segments(var.segments)
            line, column = lines.position(var.span.index)
            read = PathRead(segments, display_path(segments), line, column, dynamic)
            reads.append((var.span.index, read))
    reads.sort(key=lambda item: item[0])

    def uses(spans: Mapping[str, Any]) -> tuple[NameUse, ...]:
        found = [
            (span.index, NameUse(name, *lines.position(span.index)))
            for name, span_list in spans.items()
            for span in span_list
        ]
        return tuple(use for _, use in sorted(found, key=lambda item: item[0]))

    in_string = _string_context(template, source)
    outputs: list[OutputFact] = []
    static_context = RenderContext(template)

    # `{% unless Profile.X %}{% abort %}{% endunless %}` guards Profile.X for everything after it:
    # a profile without it is never sent. Such paths join `after_abort` once their block is seen.
    after_abort: set[tuple[Segment, ...]] = set()

    def visit(node: Node, guards: frozenset[tuple[Segment, ...]]) -> None:
        if isinstance(node, OutputNode):
            outputs.append(_output_fact(node, guards | after_abort, in_string, lines, source))
        if isinstance(node, _GUARD_NODES):
            condition = _node_condition_paths(node)
            guards = guards | condition
            if _aborts(node, static_context):
                after_abort.update(condition)
        for child in node.children(static_context, include_partials=False):
            visit(child, guards)

    for node in template.nodes:
        visit(node, frozenset())

    return TemplateFacts(
        reads=tuple(read for _, read in reads),
        filters=uses(analysis.filters),
        tags=uses(analysis.tags),
        outputs=tuple(outputs),
    )


def _aborts(node: Node, context: RenderContext) -> bool:
    """Whether ``{% abort %}`` appears anywhere under ``node``."""
    return any(
        isinstance(child, AbortNode) or _aborts(child, context)
        for child in node.children(context, include_partials=False)
    )


def _output_fact(
    node: OutputNode,
    guards: frozenset[tuple[Segment, ...]],
    in_string: Mapping[int, bool],
    lines: LineIndex,
    source: str,
) -> OutputFact:
    expr = node.expression
    path: tuple[Segment, ...] | None = None
    dynamic = False
    filters: tuple[str, ...] = ()
    left = expr.left if isinstance(expr, FilteredExpression) else expr
    if isinstance(expr, FilteredExpression):
        filters = tuple(f.name for f in expr.filters or ())
    if isinstance(left, Path):
        path, dynamic = _static_segments(left.path)
    index = node.token.start_index
    line, column = lines.position(index)
    return OutputFact(
        # Sliced from the user's text: the parse saw `Catalog ["x"]` for `Catalog.["x"]`.
        source=source[index : index + len(str(node.token.value))],
        index=index,
        line=line,
        column=column,
        path=path,
        display=display_path(path) if path else None,
        filters=filters,
        has_default="default" in filters,
        guarded=bool(path) and _is_guarded(path or (), guards),
        in_json_string=in_string.get(index, False),
        dynamic=dynamic,
    )


def static_findings(
    facts: TemplateFacts, always: frozenset[tuple[Segment, ...]] = frozenset()
) -> tuple[Finding, ...]:
    """CTPH002 and CTPH005, in template order.

    ``always`` holds the paths (root first, e.g. ``("Profile", "Tier")``) the account
    guarantees on every profile: outputting one needs no ``default``. Only the account's
    configuration knows them, so they are passed in rather than looked up."""
    found: list[Finding] = []
    found.extend(_dialect_findings(facts))
    found.extend(_missing_default_findings(facts, always))
    return tuple(sorted(found, key=lambda f: (f.line or 0, f.column or 0, f.code)))


def _dialect_findings(facts: TemplateFacts) -> Iterator[Finding]:
    tag_names = {use.name for use in facts.tags}
    for use in facts.tags:
        if use.name in DOCUMENTED_TAGS:
            continue
        if use.name.startswith("end") and use.name[3:] in tag_names:
            continue  # the closing half of an unknown block tag already reported
        yield finding(
            "CTPH002",
            f"tag `{use.name}` is not in CleverTap's documented Liquid dialect "
            f"(line {use.line} col {use.column})",
            line=use.line,
            column=use.column,
        )
    for use in facts.filters:
        if use.name in DOCUMENTED_FILTERS:
            continue
        shopify = use.name in SHOPIFY_FILTERS  # standard Liquid: only a warning
        where = f"(line {use.line} col {use.column})"
        yield finding(
            "CTPH002",
            f"filter `{use.name}` is standard Shopify Liquid but CleverTap does not document it "
            f"{where}; it may not work in CleverTap"
            if shopify
            else f"filter `{use.name}` is not in CleverTap's documented Liquid dialect {where}",
            line=use.line,
            column=use.column,
            severity=Severity.WARNING if shopify else None,
        )
    for read in facts.reads:
        if read.root in OBJECTS:
            continue
        suggestion = next((o for o in OBJECTS if o.lower() == read.root.lower()), None)
        hint = f"; names are case-sensitive: did you mean `{suggestion}`?" if suggestion else ""
        yield finding(
            "CTPH002",
            f"object `{read.root}` (in `{read.display}`) is not one CleverTap provides "
            f"(Profile, Event, Linked, Catalog, Campaign){hint}",
            line=read.line,
            column=read.column,
        )


def _guaranteed(path: tuple[Segment, ...], always: frozenset[tuple[Segment, ...]]) -> bool:
    # `Profile.Address.City` is there only when `Address` is too.
    return all(path[:end] in always for end in range(2, len(path) + 1))


def _missing_default_findings(
    facts: TemplateFacts, always: frozenset[tuple[Segment, ...]]
) -> Iterator[Finding]:
    for out in facts.outputs:
        if out.root not in PROPERTY_ROOTS or out.has_default or out.guarded or out.dynamic:
            continue
        if out.path is None or len(out.path) < 2 or _guaranteed(out.path, always):
            continue
        if out.filters and out.filters[-1] in NEVER_BLANK_FILTERS:
            continue  # `{{ Event.Items | size }}` renders 0 for a missing list
        where = "inside a JSON string" if out.in_json_string else "as a bare JSON value"
        effect = "an empty string" if out.in_json_string else "nothing, which breaks the JSON"
        yield finding(
            "CTPH005",
            f"`{out.source}` at line {out.line} col {out.column} outputs `{out.display}` {where} "
            f"with no `default` and no guard: a profile without it renders {effect}",
            line=out.line,
            column=out.column,
        )


_MISSING = object()


def _resolve(data: object, path: Sequence[Segment]) -> object:
    for seg in path:
        if isinstance(data, Mapping):
            data = data.get(seg, _MISSING) if isinstance(seg, str) else _MISSING
        elif isinstance(data, (list, tuple)):
            if seg == "first":
                data = data[0] if data else _MISSING
            elif seg == "last":
                data = data[-1] if data else _MISSING
            elif seg == "size":
                data = len(data)
            elif isinstance(seg, int) and -len(data) <= seg < len(data):
                data = data[seg]
            else:
                return _MISSING
        else:
            return _MISSING
    return data


def multi_value_findings(
    facts: TemplateFacts,
    profile: Mapping[str, Any],
    event: Mapping[str, Any] | None = None,
) -> tuple[Finding, ...]:
    """CTPH006 for outputs that print a list or object value of this profile/event directly.

    Only outputs whose filters cannot turn a list into text (none, or only ``default``) count;
    ``| join: ","`` or ``| size`` are deliberate. Cheap: one dict walk per such output.
    """
    roots: dict[str, Mapping[str, Any] | None] = {"Profile": profile, "Event": event}
    found: list[Finding] = []
    for out in facts.printed_properties:
        assert out.path is not None and out.root is not None
        value = _resolve(roots[out.root], out.path[1:])
        if out.has_default and not value:
            continue  # `default` replaces an empty list or object: nothing odd is printed
        if isinstance(value, (list, tuple)):
            what = "a list (multi-value property)"
        elif isinstance(value, Mapping):
            what = "an object"
        else:
            continue
        rendered = to_liquid_string(list(value) if isinstance(value, tuple) else value, False)
        if len(rendered) > 60:
            rendered = rendered[:57] + "..."
        found.append(
            finding(
                "CTPH006",
                f"`{out.source}` at line {out.line} col {out.column} outputs {what}: "
                f"it renders as `{rendered}`",
                line=out.line,
                column=out.column,
            )
        )
    return tuple(found)
