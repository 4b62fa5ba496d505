"""Markdown: the sign-off note a marketing engineer pastes into a pull request or a ticket.

A summary table first (is this campaign safe to launch?), then what to fix per failing template
with the catalogue's hints, then one line per passing template. Template text (messages, paths,
pointers) is untrusted, so every cell is escaped: a ``|`` cannot split a table, a backtick cannot
open code, ``<`` cannot become HTML, and a newline cannot end a row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..findings import Finding, Severity
from ..redact import printable, redact_text
from .model import ItemReport, RunReport
from .text import where

__all__ = ["code_span", "escape_cell", "table", "to_markdown"]

# Markdown-active characters escaped in cell text. `_` and `-` stay as they are: intraword `_`
# is inert in GFM, and escaping it would split PostHog keys before they are masked.
_ACTIVE = re.compile(r"([\\`*\[\]|~])")
_NEWLINES = re.compile(r"\r\n|\r|\n")


def escape_cell(text: str) -> str:
    """Plain text safe inside a GFM table cell (and in a list item)."""
    text = redact_text(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _ACTIVE.sub(r"\\\1", text)
    return _NEWLINES.sub("<br>", text)


def code_span(text: str, *, in_table: bool = True) -> str:
    """``text`` as inline code that survives any backticks and pipes it contains.

    The fence is one backtick longer than the longest run inside. In a table ``|`` is escaped,
    because GFM splits cells before it parses code spans (and drops that escape inside the span);
    anywhere else the escape would show, so it is left out."""
    text = _NEWLINES.sub(" ", redact_text(text))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """A GFM table from already-escaped cells; ``align`` has one of ``l``/``r`` per column."""
    marks = [("---:" if a == "r" else "---") for a in align.ljust(len(header), "l")]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


_BADGE = {True: "✅ pass", False: "❌ fail"}
_ERROR_BADGE = "⛔ error"
_SEVERITY = {Severity.ERROR: "🔴 error", Severity.WARNING: "🟠 warning", Severity.INFO: "ℹ️ info"}


def _count(item: ItemReport, severity: Severity) -> int:
    return sum(f.severity is severity for f in item.findings)


def _summary_rows(report: RunReport) -> list[list[str]]:
    return [
        [
            code_span(item.path),
            _ERROR_BADGE if item.error is not None else _BADGE[item.passed],
            "–" if item.profiles is None else str(item.profiles),
            str(_count(item, Severity.ERROR)),
            str(_count(item, Severity.WARNING)),
        ]
        for item in report.items
    ]


def _finding_row(found: Finding) -> list[str]:
    located = where(found)
    return [
        code_span(found.code),
        _SEVERITY[found.severity],
        code_span(located) if located else "–",
        escape_cell(found.message),
        str(found.count),
    ]


def _failing_section(item: ItemReport) -> list[str]:
    lines = ["", f"### ❌ {code_span(item.path, in_table=False)}", ""]
    if item.error is not None:
        return [*lines, f"Not judged: {escape_cell(item.error)}"]
    header = ["Code", "Severity", "Where", "Message", "Count"]
    lines += table(header, [_finding_row(f) for f in item.findings], "llllr")
    hints = {f.code: f.hint for f in item.findings if f.hint}
    if hints:
        lines += ["", "**How to fix**", ""]
        lines += [
            f"- {code_span(code, in_table=False)}: {escape_cell(hint)}"
            for code, hint in hints.items()
        ]
    return lines


def _passing_line(item: ItemReport) -> str:
    profiles = "" if item.profiles is None else f" — {item.profiles} profiles"
    notes = sorted({f.code for f in item.findings})
    noted = (
        f"; notes: {', '.join(code_span(code, in_table=False) for code in notes)}" if notes else ""
    )
    return f"- ✅ {code_span(item.path, in_table=False)}{profiles}{noted}"


def to_markdown(report: RunReport) -> str:
    """The run as GitHub-flavoured Markdown."""
    summary = report.summary()
    verdict = "✅ all pass" if report.passed else f"❌ {summary['failed']} failing"
    seed = "" if report.seed is None else f" · seed {report.seed}"
    strict = " · strict (warnings fail)" if report.strict else ""
    lines = [
        f"## ctph: {summary['passed']} of {len(report.items)} {report.kind} pass ({verdict})",
        "",
        f"{summary['errors']} errors · {summary['warnings']} warnings · "
        f"{summary['info']} info{seed}{strict}",
        "",
    ]
    header = [report.kind[:-1].capitalize() or "Item", "Status", "Profiles", "Errors", "Warnings"]
    lines += table(header, _summary_rows(report), "llrrr")
    for item in report.items:
        if not item.passed:
            lines += _failing_section(item)
    passing = [item for item in report.items if item.passed]
    if passing:
        lines += ["", f"### Passing {report.kind}", ""]
        lines += [_passing_line(item) for item in passing]
    return printable("\n".join(lines)) + "\n"
