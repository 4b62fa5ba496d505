"""CleverTap's Liquid dialect, emulated on python-liquid.

What CleverTap documents (research/clevertap-liquid.md A2) is the *contract*: the tags, filters and
objects below. The python-liquid environment built here still knows every standard Liquid tag and
filter, so a template that strays outside the dialect parses and renders the way stock Liquid would;
static analysis (:mod:`.analysis`) is what reports the stray names as CTPH002.

Two CleverTap behaviours are undocumented and therefore settings (:class:`DialectSettings`, in
:mod:`.settings`), with defaults that match stock Liquid and CleverTap's own advice ("always
provide fallback values to avoid blanks"): how a missing property renders, and whether inserted
values are JSON-escaped.

One :class:`liquid.Environment` is built per settings value and cached; so is a *traced* twin used
only to explain failures (it wraps each output and text node in private-use-area markers, see
:data:`OUT_OPEN`), which keeps the per-profile render path free of any instrumentation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, wraps
from time import monotonic
from typing import TYPE_CHECKING, Any, ClassVar

from liquid import Environment, FalsyStrictUndefined, Undefined, is_undefined
from liquid.ast import BlockNode, Node
from liquid.builtin.content import ContentNode
from liquid.builtin.content import Literal as LiteralTag
from liquid.builtin.filters.misc import date as liquid_date
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.for_tag import ForTag
from liquid.builtin.tags.tablerow_tag import TablerowTag
from liquid.exceptions import FilterArgumentError, ResourceLimitError
from liquid.filter import with_environment
from liquid.stringify import to_liquid_string

from .settings import DEFAULT_SETTINGS, DialectSettings
from .tags import AbortTag, UnknownTag

if TYPE_CHECKING:
    from typing import TextIO

    from liquid import RenderContext
    from liquid.stream import TokenStream

__all__ = [
    "DOCUMENTED_FILTERS",
    "DOCUMENTED_TAGS",
    "NEVER_BLANK_FILTERS",
    "OBJECTS",
    "OUT_CLOSE",
    "OUT_OPEN",
    "SEP",
    "SHOPIFY_FILTERS",
    "TEXT_CLOSE",
    "TEXT_OPEN",
    "environment",
    "json_escape",
    "normalise_source",
    "render_clock",
    "shifted_clock",
    "traced_environment",
    "value_kind",
]


DOCUMENTED_TAGS = frozenset(
    {
        "if",
        "elsif",
        "else",
        "unless",
        "case",
        "when",
        "for",
        "break",
        "continue",
        "tablerow",
        "assign",
        "raw",
        "comment",
        "abort",
    }
)
"""Tags CleverTap documents (``elsif``/``else``/``when`` never show up as nodes of their own)."""

DOCUMENTED_FILTERS = frozenset({"default", "date", "split"})
"""Filters CleverTap documents; everything else is CTPH002."""

SHOPIFY_FILTERS = frozenset(
    {
        "abs",
        "append",
        "at_least",
        "at_most",
        "base64_decode",
        "base64_encode",
        "base64_url_safe_decode",
        "base64_url_safe_encode",
        "capitalize",
        "ceil",
        "compact",
        "concat",
        "divided_by",
        "downcase",
        "escape",
        "escape_once",
        "find",
        "find_index",
        "first",
        "floor",
        "has",
        "join",
        "last",
        "lstrip",
        "map",
        "minus",
        "modulo",
        "newline_to_br",
        "plus",
        "prepend",
        "reject",
        "remove",
        "remove_first",
        "remove_last",
        "replace",
        "replace_first",
        "replace_last",
        "reverse",
        "round",
        "rstrip",
        "size",
        "slice",
        "sort",
        "sort_natural",
        "strip",
        "strip_html",
        "strip_newlines",
        "sum",
        "times",
        "truncate",
        "truncatewords",
        "uniq",
        "upcase",
        "url_decode",
        "url_encode",
        "where",
    }
)
"""Standard Shopify Liquid filters CleverTap does not document: CTPH002 as a *warning* (they
probably work, but nobody has promised). python-liquid's own additions (``escapejs``, ``safe``,
``squish``, ...) are not in this set and are errors."""

MATH_FILTERS = frozenset(
    {
        "abs",
        "at_least",
        "at_most",
        "ceil",
        "divided_by",
        "floor",
        "minus",
        "modulo",
        "plus",
        "round",
        "sum",
        "times",
    }
)
"""python-liquid's filters that compute numbers (``liquid/builtin/__init__.py`` ``register``)."""

NEVER_BLANK_FILTERS = MATH_FILTERS | {"size"}
"""Filters that render a value even for a missing or nil input (python-liquid: ``size`` of nil
is 0, the math filters read nil as 0), so an output ending in one cannot render blank and needs
no ``default`` (CTPH005). ``upcase``, ``date`` and the rest pass a blank through."""

OBJECTS = frozenset({"Profile", "Event", "Linked", "Catalog", "Campaign"})
"""Root objects CleverTap provides; names are case-sensitive (``profile`` is not ``Profile``)."""

# Resource limits: a runaway template must end in well under a second with a clean CTPH003.
# Loops: CleverTap lists hold at most 100 values and Charged events 256 items, so 10,000 nested
# iterations is generous. Output: PostHog refuses events over 1,000,000 bytes (CTPH171), so the
# cap sits above that (the contract checker must still see such bodies) but far below memory
# trouble. Locals bound `assign`/`capture` doubling tricks the loop limit cannot see.
LOOP_ITERATION_LIMIT = 10_000
OUTPUT_STREAM_LIMIT = 4 * 1024 * 1024
LOCAL_NAMESPACE_LIMIT = 4 * 1024 * 1024
CONTEXT_DEPTH_LIMIT = 30
# Numbers: CleverTap stores numbers as doubles and PostHog's parser (serde_json) reads an integer
# as u64/i64 and anything else as f64, refusing what lies past f64's range (about 1.8e308, below
# 2**1024). A math filter whose result lies past that ends the render at once: without the bound,
# `{% assign n = n | times: n %}` in a loop squares a big integer every iteration and each
# multiplication of million-digit integers takes seconds, long before the locals limit notices.
NUMBER_BITS_LIMIT = 1024
# Time: the limits above bound how much a render does, not how slow each step is (10,000
# iterations of `replace` on a 2 MB string took 78 s). A loop body checks the clock each time it
# runs and ends the render once RENDER_TIME_LIMIT has passed since the render's first loop
# iteration; a render without loops pays nothing, and one with loops a clock read per iteration.
# Within :func:`render_clock` (one template's run), once one render hits the limit every later
# render stops at its first loop iteration, so 200 profiles cost one limit, not 200.
RENDER_TIME_LIMIT = 2.0

# Trace markers (Unicode private-use area, which profile data practically never holds):
#   OUT_OPEN <template offset> SEP <kind> <value> OUT_CLOSE   around each {{ output }}
#   TEXT_OPEN <template offset> SEP <text> TEXT_CLOSE          around each literal text node
OUT_OPEN = "\ue000"
SEP = "\ue001"
OUT_CLOSE = "\ue002"
TEXT_OPEN = "\ue003"
TEXT_CLOSE = "\ue004"


def json_escape(text: str) -> str:
    """``text`` escaped for the inside of a JSON string (quotes, backslashes, control chars)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def value_kind(value: object) -> str:
    """One-letter class of an output value for the trace: list, dict, undefined/None, scalar."""
    if isinstance(value, (list, tuple)):
        return "l"
    if isinstance(value, dict):
        return "d"
    if value is None or is_undefined(value):
        return "u"
    return "s"


_CATALOG_DOT_BRACKET = re.compile(r"(\{\{|\{%)(.*?)(\}\}|%\})", re.DOTALL)


def normalise_source(source: str) -> str:
    """Accept CleverTap's ``Catalog.["Name"]`` spelling, which python-liquid rejects.

    ``.[`` inside Liquid markup becomes `` [`` (python-liquid reads ``Catalog ["Name"]`` as
    ``Catalog["Name"]``). The replacement has the same length, so every offset, line and column
    the harness reports still points into the user's original text.
    """
    if ".[" not in source:
        return source
    return _CATALOG_DOT_BRACKET.sub(
        lambda m: m.group(1) + m.group(2).replace(".[", " [") + m.group(3), source
    )


_CLOCK_SHIFT: ContextVar[timedelta] = ContextVar("ctph_clock_shift", default=timedelta(0))
_NOW = ("now", "today")


@contextmanager
def shifted_clock(by: timedelta) -> Iterator[None]:
    """Render ``"now"``/``"today"`` as if ``by`` later, in this context only.

    Every render of one run sees the same clock second, so a timestamp built from ``"now"``
    looks constant across profiles though it differs per send in CleverTap; rendering again
    with a shifted clock tells the two apart (CTPH144).
    """
    token = _CLOCK_SHIFT.set(by)
    try:
        yield
    finally:
        _CLOCK_SHIFT.reset(token)


@with_environment
def clevertap_date(value: Any, fmt: Any, *, environment: Environment) -> str:
    """``date`` that fails as a Liquid filter error instead of a bare ``ValueError``.

    python-liquid reads an integer as epoch *seconds*; CleverTap data often carries
    milliseconds, for which ``fromtimestamp`` raises ``ValueError``/``OverflowError`` outside any
    Liquid error handling. Raised as ``FilterArgumentError``, python-liquid attaches the filter's
    position, so the render finding (CTPH003) can point at it. ``"now"``/``"today"`` read the
    clock :func:`shifted_clock` can move (python-liquid's own ``date`` reads the real one).
    """
    if isinstance(value, str) and value in _NOW and not is_undefined(fmt):
        value = datetime.now() + _CLOCK_SHIFT.get()
    try:
        return str(liquid_date(value, fmt, environment=environment))
    except (ValueError, OverflowError, OSError) as err:
        hint = ""
        text = str(value)
        if text.isdigit() and len(text) >= 12:
            hint = " (this looks like epoch milliseconds; `date` reads epoch seconds)"
        raise FilterArgumentError(
            f"date: cannot read {value!r} as a date: {err}{hint}", token=None
        ) from err


def _out_of_range(value: object) -> bool:
    """A number no f64 can hold (CleverTap's and PostHog's widest number), or NaN/infinity."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value.bit_length() > NUMBER_BITS_LIMIT
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    return False


def _bounded(name: str, math: Any) -> Any:
    """``math`` (a python-liquid math filter) that refuses operands and results out of range
    as a ``FilterArgumentError`` (CTPH003 at the filter), before any big-number arithmetic."""

    @wraps(math)
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        for operand in (value, *args):
            if _out_of_range(operand):
                raise FilterArgumentError(_range_message(name, "an operand"), token=None)
        result = math(value, *args, **kwargs)
        if _out_of_range(result):
            raise FilterArgumentError(_range_message(name, "the result"), token=None)
        return result

    return bounded


def _range_message(name: str, what: str) -> str:
    return (
        f"{name}: {what} is beyond the range of a number CleverTap or PostHog can hold "
        "(a double, up to about 1.8e308)"
    )


class RenderTimeLimitError(ResourceLimitError):
    """The render ran its loops longer than :data:`RENDER_TIME_LIMIT` seconds."""


@dataclass
class _Clock:
    """One template's run: has a render of it hit the time limit yet?"""

    tripped: bool = False


_TEMPLATE_CLOCK: ContextVar[_Clock | None] = ContextVar("ctph_template_clock", default=None)


@contextmanager
def render_clock() -> Iterator[None]:
    """Renders in this block belong to one template's run (see :data:`RENDER_TIME_LIMIT`)."""
    token = _TEMPLATE_CLOCK.set(_Clock())
    try:
        yield
    finally:
        _TEMPLATE_CLOCK.reset(token)


_DEADLINE = "ctph:deadline"
"""The render's deadline, in its context's per-render ``tag_namespace`` (python-liquid keeps
``cycle``/``ifchanged`` state there), set by the first loop iteration."""


class TimedBlockNode(BlockNode):
    """A ``for``/``tablerow`` body that ends the render past :data:`RENDER_TIME_LIMIT`."""

    __slots__ = ()

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        """Check the clock, then render the body once."""
        namespace = context.tag_namespace
        now = monotonic()
        deadline = namespace.get(_DEADLINE)
        if deadline is None:
            namespace[_DEADLINE] = deadline = now + RENDER_TIME_LIMIT
        clock = _TEMPLATE_CLOCK.get()
        if clock is not None and clock.tripped:
            raise RenderTimeLimitError(
                "render time limit reached earlier: a render of this template ran its loops for "
                f"more than {RENDER_TIME_LIMIT:g} s, so later renders stop at their first loop",
                token=self.token,
            )
        if now > deadline:
            if clock is not None:
                clock.tripped = True
            raise RenderTimeLimitError(
                f"render time limit reached: loops ran for more than {RENDER_TIME_LIMIT:g} s "
                "for one profile (a campaign render takes milliseconds)",
                token=self.token,
            )
        return super().render_to_output(context, buffer)


def _timed(node: Node) -> Node:
    block = getattr(node, "block", None)
    if type(block) is BlockNode:
        node.block = TimedBlockNode(block.token, block.nodes)  # type: ignore[attr-defined]
    return node


class _TimedFor(ForTag):
    def parse(self, stream: TokenStream) -> Node:
        return _timed(super().parse(stream))


class _TimedTablerow(TablerowTag):
    def parse(self, stream: TokenStream) -> Any:
        return _timed(super().parse(stream))


class JsonOutputNode(OutputNode):
    """``{{ ... }}`` whose value is JSON-string escaped (setting ``escaping = "json"``)."""

    __slots__ = ()

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        """Write the value escaped for a JSON string context."""
        value = to_liquid_string(self.expression.evaluate(context), context.autoescape)
        return buffer.write(json_escape(value))


class TracedOutputNode(OutputNode):
    """``{{ ... }}`` wrapped in trace markers carrying its template offset and value kind."""

    __slots__ = ()
    escape: ClassVar[bool] = False

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        """Write OUT_OPEN offset SEP kind value OUT_CLOSE."""
        obj = self.expression.evaluate(context)
        value = to_liquid_string(obj, context.autoescape)
        if self.escape:
            value = json_escape(value)
        return buffer.write(
            f"{OUT_OPEN}{self.token.start_index}{SEP}{value_kind(obj)}{value}{OUT_CLOSE}"
        )


class TracedJsonOutputNode(TracedOutputNode):
    """Traced twin of :class:`JsonOutputNode`."""

    __slots__ = ()
    escape: ClassVar[bool] = True


class TracedContentNode(ContentNode):
    """Literal template text wrapped in trace markers carrying its template offset."""

    __slots__ = ()

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        """Write TEXT_OPEN offset SEP text TEXT_CLOSE."""
        return buffer.write(f"{TEXT_OPEN}{self.token.start_index}{SEP}{self.text}{TEXT_CLOSE}")


class _JsonOutput(Output):
    node_class = JsonOutputNode


class _TracedOutput(Output):
    node_class = TracedOutputNode


class _TracedJsonOutput(Output):
    node_class = TracedJsonOutputNode


class _TracedLiteral(LiteralTag):
    node_class = TracedContentNode


class DialectEnvironment(Environment):
    """python-liquid environment with the harness's resource limits (class-level in liquid)."""

    loop_iteration_limit: ClassVar[int | None] = LOOP_ITERATION_LIMIT
    output_stream_limit: ClassVar[int | None] = OUTPUT_STREAM_LIMIT
    local_namespace_limit: ClassVar[int | None] = LOCAL_NAMESPACE_LIMIT
    context_depth_limit: ClassVar[int] = CONTEXT_DEPTH_LIMIT


def _build(settings: DialectSettings, *, traced: bool) -> Environment:
    undefined: type[Undefined] = FalsyStrictUndefined if settings.missing == "error" else Undefined
    env = DialectEnvironment(undefined=undefined, strict_filters=True)
    env.add_tag(AbortTag)
    env.add_tag(_TimedFor)
    env.add_tag(_TimedTablerow)
    env.add_tag(UnknownTag)
    env.add_filter("date", clevertap_date)
    for name in MATH_FILTERS:
        env.add_filter(name, _bounded(name, env.filters[name]))
    escape = settings.escaping == "json"
    if traced:
        env.add_tag(_TracedJsonOutput if escape else _TracedOutput)
        env.add_tag(_TracedLiteral)
    elif escape:
        env.add_tag(_JsonOutput)
    return env


@cache
def _cached(settings: DialectSettings, traced: bool) -> Environment:
    # One key shape for every call style (`environment()` and `environment(DialectSettings())`).
    return _build(settings, traced=traced)


def environment(settings: DialectSettings = DEFAULT_SETTINGS) -> Environment:
    """The one environment for ``settings`` (built once per process)."""
    return _cached(settings, False)


def traced_environment(settings: DialectSettings = DEFAULT_SETTINGS) -> Environment:
    """The trace-marker twin of :func:`environment`, used only to explain a failure."""
    return _cached(settings, True)
