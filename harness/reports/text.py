"""Plain text: the report ``ctph`` prints, and how one finding is located and told.

The other formats build on the pieces here: JUnit uses :func:`finding_lines` as a failure's
body, Markdown and HTML show :func:`where` and :func:`profile_json`.
"""

from __future__ import annotations

import json

from ..findings import Finding, Severity
from ..redact import printable, redact_text
from ..verdict import failing
from .model import RunReport

__all__ = ["finding_lines", "profile_json", "to_text", "where"]


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


_MARK = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}


def finding_lines(item: Finding, strict: bool) -> list[str]:
    """One finding as the plain-text report shows it (also the body of a JUnit failure)."""
    located = where(item)
    count = f" ({item.count} profiles)" if item.count > 1 else ""
    flag = "✗" if failing(item, strict=strict) else "·"
    lines = [f"  {flag} {item.code} {_MARK[item.severity]:<7} {item.message}{count}"]
    if located:
        lines.append(f"      at {located}")
    shown = profile_json(item)
    if shown is not None:
        lines.append(f"      profile {shown if len(shown) < 200 else shown[:199] + '…'}")
    if item.hint:
        lines.append(f"      hint: {item.hint}")
    return lines


def to_text(report: RunReport) -> str:
    lines: list[str] = []
    for item in report.items:
        verdict = item.status.upper()
        profiles = f"  ({item.profiles} profiles)" if item.profiles is not None else ""
        lines.append(f"{verdict}  {item.path}{profiles}")
        if item.error is not None:
            lines.append(f"  ! {item.error}")
        for found in item.findings:
            lines += finding_lines(found, report.strict)
    summary = report.summary()
    lines.append("")
    lines.append(
        f"{summary['passed']} of {len(report.items)} {report.kind} pass; "
        f"{summary['errors']} errors, {summary['warnings']} warnings"
    )
    return printable("\n".join(lines)) + "\n"
