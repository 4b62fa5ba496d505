"""Rendering a loaded template for one profile, and explaining a body that is not JSON.

:func:`render` is the per-profile hot path (about 200 calls per template): it only builds the
context dict and calls the pre-parsed template, translating the three outcomes into a
:class:`Rendered` (body, aborted by ``{% abort %}``, or a CTPH003 finding). Resource limits
(dialect.py) make a runaway template fail fast instead of hanging.

:func:`explain_json_failure` runs only after PostHog's parser refused a body
(:func:`ctph_harness.posthog.serde.read`, the one JSON reader). It renders again with the
*traced* environment, whose output and text nodes wrap what they write in private-use-area
markers carrying their template offset (and the value's kind: scalar, list, object, missing). The
markers are stripped back out, which gives the same body plus a map from every body character to
the output statement (or template text) that produced it. The ``JSONDecodeError`` position is
mapped through that: the culprit is the output whose value is wrong *for where it sits*: inside a
JSON string a ``"`` ends the string early, a ``\\`` starts a bogus escape, a raw newline/control
character is illegal; outside one, a blank value leaves a hole, a list/dict prints as a Python
repr, and plain text is not a JSON value. When no output value is wrong for its place, the
template text itself is broken JSON, and the finding says so with the template line:column.

Python's ``json`` only locates *syntax* errors. What serde_json refuses though Python reads it (a
lone surrogate escape, a number past f64's range, NaN) is blamed on the output whose value holds
it; when the template text holds it, there is nothing to add to the checker's own CTPH004, and
:func:`explain_json_failure` says so by returning ``None``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from liquid import BoundTemplate
from liquid.exceptions import LiquidError, UndefinedError

from ..findings import Finding, finding
from ..posthog.serde import NotSerdeJson, read
from .analysis import OutputFact, json_string_state, multi_value_findings
from .dialect import (
    OUT_CLOSE,
    OUT_OPEN,
    SEP,
    TEXT_CLOSE,
    TEXT_OPEN,
    normalise_source,
    traced_environment,
)
from .settings import DialectSettings
from .tags import CampaignAborted
from .template import CampaignTemplate

__all__ = [
    "Rendered",
    "explain_json_failure",
    "multi_value_findings",
    "render",
    "render_error_finding",
]


@dataclass(frozen=True, slots=True)
class Rendered:
    """One render: a body, or an abort (no finding: aborting is the template's intent), or a
    CTPH003 finding."""

    body: str | None
    aborted: bool = False
    finding: Finding | None = None


def _context(
    profile: Mapping[str, Any],
    event: Mapping[str, Any] | None,
    campaign: Mapping[str, Any] | None,
    linked: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    # An absent object stays *undefined* (not {}) so `missing = "error"` treats it as missing.
    ctx: dict[str, Any] = {"Profile": profile}
    if event is not None:
        ctx["Event"] = event
    if campaign is not None:
        ctx["Campaign"] = campaign
    if linked is not None:
        ctx["Linked"] = linked
    if catalog is not None:
        ctx["Catalog"] = catalog
    return ctx


def render(
    template: CampaignTemplate,
    profile: Mapping[str, Any],
    event: Mapping[str, Any] | None = None,
    campaign: Mapping[str, Any] | None = None,
    *,
    linked: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
) -> Rendered:
    """Render ``template`` for one profile (and event/campaign); never raises for template faults.

    ``linked``/``catalog`` feed CleverTap's ``Linked``/``Catalog`` objects when a test has them.
    A template that did not parse renders nothing and carries its first static error finding.
    """
    parsed = template.parsed
    if parsed is None:
        first = next((f for f in template.findings if f.code in ("CTPH001", "CTPH004")), None)
        return Rendered(None, False, first)
    try:
        return Rendered(parsed.render(_context(profile, event, campaign, linked, catalog)))
    except CampaignAborted:
        return Rendered(None, True, None)
    except Exception as err:
        return Rendered(None, False, render_error_finding(template, err))


_DIGITS_LIMIT = "integer string conversion"
"""CPython's ``ValueError`` for ``str()`` of an int past ``sys.get_int_max_str_digits()`` (4,300
digits), which is how writing such a profile value out fails."""


def render_error_finding(template: CampaignTemplate, err: BaseException) -> Finding:
    """CTPH003 for an exception raised while rendering, located when python-liquid knows where."""
    line = column = None
    if isinstance(err, LiquidError):
        message = str(err.message) if err.message else type(err).__name__
        token = err.token
        if token is not None and token.start_index >= 0:
            line, column = template.lines.position(token.start_index)
        if isinstance(err, UndefinedError) and template.settings.missing == "error":
            message += (
                ' (setting `missing` = "error": a missing property with no `default` fails the '
                "send)"
            )
    elif isinstance(err, ValueError) and _DIGITS_LIMIT in str(err):
        message = (
            "a number of more than 4,300 digits, far beyond the range of a number CleverTap or "
            "PostHog can hold (a double, up to about 1.8e308)"
        )
    elif isinstance(err, UnicodeEncodeError) and err.reason == "surrogates not allowed":
        char = err.object[err.start : err.start + 1]
        message = (
            f"a value holds a lone surrogate (U+{ord(char):04X}), which UTF-8 text cannot carry: "
            "CleverTap cannot hold it, and PostHog's JSON parser refuses its \\u escape"
        )
    else:
        message = f"{type(err).__name__}: {err}"
    where = f" at line {line} col {column}" if line is not None else ""
    return finding("CTPH003", f"rendering failed{where}: {message}", line=line, column=column)


# --- CTPH004: which output broke the JSON -------------------------------------------------------

_MARKER = re.compile(
    f"{OUT_OPEN}(\\d+){SEP}(.)|{TEXT_OPEN}(\\d+){SEP}|{OUT_CLOSE}|{TEXT_CLOSE}", re.DOTALL
)


@dataclass(frozen=True)
class _Piece:
    """A stretch of the clean body produced by one output (``output``) or template text."""

    start: int
    end: int
    output: int | None  # template offset of the {{ }} that wrote it
    kind: str  # s/l/d/u for outputs, "" for text
    origin: int  # template offset of the first character (text) or of the output


def _untrace(traced: str) -> tuple[str, list[_Piece]]:
    """Strip trace markers; return the body and who wrote each stretch of it.

    Only the outermost output counts (a ``capture``d value output later carries nested text
    markers, which are dropped with the rest of the value's markers).
    """
    body: list[str] = []
    pieces: list[_Piece] = []
    pos = 0  # position in the clean body
    last = 0  # position in the traced text
    stack: list[tuple[str, int, str, int]] = []  # (type, template offset, kind, body start)

    def flush(upto: int) -> None:
        nonlocal pos
        chunk = traced[last:upto]
        if not chunk:
            return
        body.append(chunk)
        if not stack:
            pieces.append(_Piece(pos, pos + len(chunk), None, "", -1))
        elif stack[0][0] == "text" and len(stack) == 1:
            offset = stack[0][1] + (pos - stack[0][3])
            pieces.append(_Piece(pos, pos + len(chunk), None, "", offset))
        pos += len(chunk)

    for match in _MARKER.finditer(traced):
        flush(match.start())
        last = match.end()
        token = match.group(0)[0]
        if token == OUT_OPEN:
            stack.append(("out", int(match.group(1)), match.group(2), pos))
        elif token == TEXT_OPEN:
            stack.append(("text", int(match.group(3)), "", pos))
        elif stack:
            kind_, offset, value_kind, start = stack.pop()
            if kind_ == "out" and not any(entry[0] == "out" for entry in stack):
                pieces.append(_Piece(start, pos, offset, value_kind, offset))
    flush(len(traced))
    pieces.sort(key=lambda p: (p.start, p.end))
    return "".join(body), pieces


def _string_states(body: str, pieces: list[_Piece]) -> dict[int, bool]:
    """For each output piece (by body start): is a JSON string open there?

    Only non-output characters drive the state, i.e. the rendered template text around the
    values: that is where the template author meant the value to go.
    """
    states: dict[int, bool] = {}
    in_string = escaped = False
    for piece in pieces:
        if piece.output is not None:
            states[piece.start] = in_string
            continue
        in_string, escaped = json_string_state(body[piece.start : piece.end], in_string, escaped)
    return states


def _show(value: str, limit: int = 60) -> str:
    shown = value if len(value) <= limit else value[: limit - 3] + "..."
    out = []
    for ch in shown:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def _problem(value: str, kind: str, in_string: bool, unescaped: bool) -> str | None:
    """Why ``value`` cannot stand where it was written, or None if it can."""
    assumption = " (assuming CleverTap inserts values unescaped, setting `escaping`)"
    if in_string:
        if '"' in value:
            return 'whose `"` ends the JSON string early' + (assumption if unescaped else "")
        refused = _refusal(f'"{value}"') if "\\" in value else None
        if refused is not None:
            if _python_reads(f'"{value}"'):  # an escape only serde refuses: a lone surrogate
                return f"which PostHog's JSON parser refuses: {refused}"
            return "whose backslash `\\` starts an invalid JSON escape" + (
                assumption if unescaped else ""
            )
        control = next((ch for ch in value if ord(ch) < 0x20), None)
        if control is not None:
            what = "raw newline" if control == "\n" else f"control character U+{ord(control):04X}"
            return f"whose {what} is not allowed inside a JSON string" + (
                assumption if unescaped else ""
            )
        return None
    if kind in ("l", "d"):
        if _refusal(value) is None:
            return None
        if kind == "l":
            return "which is a list (multi-value) rendered with its items run together, not JSON"
        return "which is the Python repr of an object, not JSON"
    if not value.strip():
        return "a blank value outside quotes leaves a hole where a JSON value must be"
    refused = _refusal(value)
    if refused is None:
        return None
    if _python_reads(value):  # JSON to Python, not to serde_json: a number past f64, NaN
        return f"which PostHog's JSON parser refuses: {refused}"
    return "which is bare text outside quotes, not a JSON value"


def _refusal(text: str) -> str | None:
    """serde_json's refusal of ``text`` (:func:`ctph_harness.posthog.serde.read`), or None."""
    try:
        read(text)
    except NotSerdeJson as err:
        return err.detail
    return None


def _python_reads(text: str) -> bool:
    """Is ``text`` JSON to Python? Its own limits (int() of 4,300+ digits, recursion) count as
    yes: the text is JSON, only too big for Python to hold."""
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    except (ValueError, RecursionError):
        return True
    return True


@dataclass(frozen=True, slots=True)
class _Failure:
    """Where and why a body is not JSON: Python's ``JSONDecodeError`` position for a syntax
    error, or no position for what only serde_json refuses."""

    reason: str
    pos: int | None
    unterminated: bool = False


def _failure(body: str) -> _Failure | None:
    """Why PostHog's parser refuses ``body``, or None when it reads it."""
    refused = _refusal(body)
    if refused is None:
        return None
    try:  # serde refused, so the body nests less than 128 deep unless that is the refusal
        json.loads(body)
    except json.JSONDecodeError as err:
        reason = f"json.loads: {err.msg} (body char {err.pos})"
        return _Failure(reason, err.pos, err.msg.startswith("Unterminated string"))
    except (ValueError, RecursionError):  # e.g. more digits than int() converts
        pass
    return _Failure(f"PostHog's JSON parser (serde_json): {refused}", None)


def explain_json_failure(
    template: CampaignTemplate,
    profile: Mapping[str, Any],
    event: Mapping[str, Any] | None = None,
    campaign: Mapping[str, Any] | None = None,
    *,
    linked: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
) -> Finding | None:
    """CTPH004 naming the output expression whose value broke the JSON body (module docstring).

    Returns the CTPH003 finding instead if the render itself fails, and ``None`` when the body is
    refused only for what the template's own text holds that Python's ``json`` accepts (a
    ``"\\ud800"`` escape, a 400-digit literal): the checker's CTPH004 already says all there is.
    Raises ``ValueError`` when there is nothing to explain: PostHog's parser reads the body, or
    the template aborts for this profile.
    """
    if template.parsed is None:
        raise ValueError(f"{template.name}: template did not parse; nothing was rendered")
    traced_template = _traced(template.source, template.settings)
    try:
        traced = traced_template.render(_context(profile, event, campaign, linked, catalog))
    except CampaignAborted as err:
        raise ValueError(f"{template.name}: the template aborts for this profile") from err
    except Exception as err:
        return render_error_finding(template, err)
    body, pieces = _untrace(traced)
    failure = _failure(body)
    if failure is None:
        raise ValueError(f"{template.name}: the body is valid JSON for this profile")
    return _blame(template, body, pieces, failure)


@lru_cache(maxsize=64)
def _traced(source: str, settings: DialectSettings) -> BoundTemplate:
    """The traced parse of a template that already parsed normally (so this cannot fail)."""
    return traced_environment(settings).from_string(normalise_source(source))


def _blame(
    template: CampaignTemplate, body: str, pieces: list[_Piece], failure: _Failure
) -> Finding | None:
    states = _string_states(body, pieces)
    unescaped = template.settings.escaping == "none"
    suspects: list[tuple[_Piece, str]] = []
    for piece in pieces:
        if piece.output is None:
            continue
        value = body[piece.start : piece.end]
        problem = _problem(value, piece.kind, states[piece.start], unescaped)
        if problem is not None:
            suspects.append((piece, problem))
    reason = failure.reason
    culprit = _pick(suspects, failure)
    if culprit is not None:
        piece, problem = culprit
        out = template.facts.output_at(piece.output or 0)
        value = body[piece.start : piece.end]
        expr, line, column = _describe(template, out, piece)
        rendered = f"rendered `{_show(value)}`"
        if problem.startswith("a blank"):
            rendered = f"rendered blank `{_show(value)}`:" if value else "rendered nothing:"
        return finding(
            "CTPH004",
            f"`{expr}` at line {line} col {column} {rendered} {problem}; {reason}",
            line=line,
            column=column,
        )
    if failure.pos is None:  # serde refuses what the template's own text holds
        return None
    # No value is wrong for its place: the template's own text is not JSON.
    line = column = None
    at = min(failure.pos, len(body) - 1) if body else 0
    for piece in pieces:
        if piece.output is None and piece.origin >= 0 and piece.start <= at < piece.end:
            line, column = template.lines.position(piece.origin + at - piece.start)
            break
    where = f" near line {line} col {column}" if line is not None else ""
    return finding(
        "CTPH004",
        f"the template text itself is not valid JSON{where}; no output value is to blame "
        f"({reason})",
        line=line,
        column=column,
    )


def _pick(suspects: list[tuple[_Piece, str]], failure: _Failure) -> tuple[_Piece, str] | None:
    """The suspect that explains the decode error: the nearest one at or before its position.

    ``Unterminated string starting at`` points at the *opening* quote, before the culprit (a
    trailing backslash swallowed the closing quote), so then the first suspect after it wins.
    A refusal without a position (serde's alone) is the first suspect's.
    """
    if not suspects:
        return None
    if failure.pos is None:
        return suspects[0]
    if failure.unterminated:
        after = [s for s in suspects if s[0].end >= failure.pos]
        if after:
            return after[0]
    before = [s for s in suspects if s[0].start <= failure.pos]
    return before[-1] if before else suspects[0]


def _describe(
    template: CampaignTemplate, out: OutputFact | None, piece: _Piece
) -> tuple[str, int | None, int | None]:
    if out is not None:
        return out.source, out.line, out.column
    line, column = template.lines.position(piece.origin)
    return "{{ ... }}", line, column
