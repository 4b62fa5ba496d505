"""What every report writer shares: the last safety step and how a finding is located and told.

Kept apart from :mod:`ctph_harness.report` (the model and the writer registry) so the writer
modules can use it without importing the registry that imports them. Nothing here knows about a
particular output format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from .findings import Finding, Severity
from .outcome import failing
from .redact import redact_text

__all__ = [
    "SEVERITY_RANK",
    "finding_lines",
    "first_failing",
    "profile_json",
    "where",
]

SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
"""Errors first: the order every report lists findings and codes in."""


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


def first_failing(findings: Iterable[Finding], strict: bool) -> Finding | None:
    """The finding that decides a failed verdict (the first that fails under the policy)."""
    return next((f for f in findings if failing(f, strict=strict)), None)
