"""Plain text: the report ``ctph`` prints, and how one finding is located and told.

The other formats build on the pieces here: JUnit uses :func:`finding_lines` as a failure's
body, Markdown and HTML show :func:`where` and :func:`profile_json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..findings import Finding, Severity
from ..redact import escape_controls, printable, redact_text
from ..verdict import failing
from .model import RunReport

__all__ = ["PLAIN", "TextStyle", "finding_lines", "profile_json", "to_text", "told", "where"]


@dataclass(frozen=True)
class TextStyle:
    """How the text report may look where it is shown: the terminal decides
    (:mod:`ctph_harness.terminal`); files and every other format get :data:`PLAIN`.

    ``unicode`` False spells the marks in ASCII (a stdout that cannot encode them, e.g. a cp1252
    pipe or ``PYTHONIOENCODING=ascii``); ``colour`` adds ANSI SGR colours."""

    unicode: bool = True
    colour: bool = False

    def paint(self, text: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if self.colour and text else text


PLAIN = TextStyle()


def _shown(text: str) -> str:
    """One field of a line (a path, a message, a pointer): no control character, a newline
    included, reaches the terminal or forges a line of the report."""
    return escape_controls(text, keep="\t")


_ASCII = str.maketrans({"✗": "x", "·": "-", "…": "...", "–": "-", "—": "-", "→": "->"})
"""The marks the report and the catalogue's texts use, spelled in ASCII; anything else a
template brings is the output stream's to escape (see :mod:`ctph_harness.terminal`)."""

_SGR = {
    "FAIL": "1;31",
    "ERROR": "1;31",
    "PASS": "1;32",
    Severity.ERROR: "31",
    Severity.WARNING: "33",
    Severity.INFO: "36",
}


def where(item: Finding) -> str:
    """Template line/column and payload pointer, as one short human string ("" if unknown)."""
    parts = []
    if item.line is not None:
        parts.append(f"line {item.line}" + (f":{item.column}" if item.column else ""))
    if item.pointer:
        parts.append(item.pointer)
    return "  ".join(parts)


def profile_json(item: Finding, *, indent: int | None = None) -> str | None:
    """The smallest triggering profile as JSON, or ``None`` when the finding has none (static
    findings, run-level notes). Keys are masked here too, before any format-specific escaping
    could split one."""
    if item.profile is None:
        return None
    return redact_text(json.dumps(dict(item.profile), ensure_ascii=False, indent=indent))


def told(found: Finding, *, profile: bool = True) -> str:
    """One finding as a multi-line message for tools that show it beside the code (SARIF's
    result message, a GitHub annotation): what, where in the payload, the smallest profile,
    the fix."""
    lines = [found.message + (f" ({found.count} profiles)" if found.count > 1 else "")]
    if found.pointer:
        lines.append(f"at {found.pointer}")
    shown = profile_json(found) if profile else None
    if shown is not None:
        lines.append(f"smallest profile: {shown}")
    if found.hint:
        lines.append(f"hint: {found.hint}")
    return "\n".join(lines)


def finding_lines(item: Finding, strict: bool, style: TextStyle = PLAIN) -> list[str]:
    """One finding as the plain-text report shows it (also the body of a JUnit failure)."""
    located = where(item)
    count = f" ({item.count} profiles)" if item.count > 1 else ""
    flag = "✗" if failing(item, strict=strict) else "·"
    mark = style.paint(f"{item.severity.value:<7}", _SGR[item.severity])
    lines = [f"  {flag} {style.paint(item.code, '1')} {mark} {_shown(item.message)}{count}"]
    if located:
        lines.append(f"      at {_shown(located)}")
    shown = profile_json(item)
    if shown is not None:
        shown = _shown(shown)
        lines.append(f"      profile {shown if len(shown) < 200 else shown[:199] + '…'}")
    if item.hint:
        lines.append(f"      hint: {item.hint}")
    return lines


def to_text(report: RunReport, style: TextStyle = PLAIN) -> str:
    lines: list[str] = []
    for item in report.items:
        verdict = item.status.upper()
        profiles = f"  ({item.profiles} profiles)" if item.profiles is not None else ""
        lines.append(f"{style.paint(verdict, _SGR[verdict])}  {_shown(item.path)}{profiles}")
        if item.error is not None:
            lines.append(f"  ! {_shown(item.error)}")
        for found in item.findings:
            lines += finding_lines(found, report.strict, style)
    summary = report.summary()
    lines.append("")
    lines.append(
        f"{summary['passed']} of {len(report.items)} {report.kind} pass; "
        f"{summary['errors']} errors, {summary['warnings']} warnings"
    )
    text = printable("\n".join(lines)) + "\n"
    return text if style.unicode else text.translate(_ASCII)
