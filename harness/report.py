"""Run reports: data first, text last.

A :class:`RunReport` is built once from results; each writer is a pure ``RunReport -> str``. Only
the CLI and the pytest plugin touch files or the terminal. Every writer's output passes through
:func:`~ctph_harness.redact.redact_text`, so no report can leak a key even if a message or a
rendered profile carries one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .findings import Finding, Severity
from .outcome import failing
from .redact import redact_text

__all__ = ["WRITERS", "ItemReport", "RunReport", "sorted_findings", "to_json", "to_text"]


@dataclass(frozen=True)
class ItemReport:
    """The verdict on one template (or one payload file for ``ctph check``)."""

    path: str
    findings: tuple[Finding, ...]
    passed: bool
    profiles: int | None = None
    example: str | None = None
    """One rendered body, for reports that show what the template sends (not in JSON v1)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "status": "pass" if self.passed else "fail"}
        if self.profiles is not None:
            out["profiles"] = self.profiles
        out["findings"] = [f.to_dict() for f in self.findings]
        return out


@dataclass(frozen=True)
class RunReport:
    """A whole run. ``kind`` names what the items are (``templates`` or ``payloads``)."""

    items: tuple[ItemReport, ...]
    kind: str = "templates"
    seed: int | None = None
    strict: bool = False

    @property
    def passed(self) -> bool:
        return all(item.passed for item in self.items)

    def summary(self) -> dict[str, int]:
        severities = Counter(f.severity.value for item in self.items for f in item.findings)
        return {
            self.kind: len(self.items),
            "passed": sum(item.passed for item in self.items),
            "failed": sum(not item.passed for item in self.items),
            "errors": severities["error"],
            "warnings": severities["warning"],
            "info": severities["info"],
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": 1}
        if self.seed is not None:
            out["seed"] = self.seed
        out[self.kind] = [item.to_dict() for item in self.items]
        out["summary"] = self.summary()
        return out


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _final(text: str) -> str:
    """Every writer's last step: keys masked, and lone UTF-16 surrogates (half an emoji, which
    CleverTap profiles can hold) written as ``\\udXXX`` so the text can be encoded at all."""
    text = redact_text(text)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def to_json(report: RunReport) -> str:
    return _final(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)) + "\n"


_MARK = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}


def _finding_lines(item: Finding, strict: bool) -> list[str]:
    where = []
    if item.line is not None:
        where.append(f"line {item.line}" + (f":{item.column}" if item.column else ""))
    if item.pointer:
        where.append(item.pointer)
    count = f" ({item.count} profiles)" if item.count > 1 else ""
    flag = "✗" if failing(item, strict=strict) else "·"
    lines = [f"  {flag} {item.code} {_MARK[item.severity]:<7} {item.message}{count}"]
    if where:
        lines.append(f"      at {'  '.join(where)}")
    if item.profile is not None:
        shown = json.dumps(dict(item.profile), ensure_ascii=False)
        lines.append(f"      profile {shown if len(shown) < 200 else shown[:199] + '…'}")
    if item.hint:
        lines.append(f"      hint: {item.hint}")
    return lines


def to_text(report: RunReport) -> str:
    lines: list[str] = []
    for item in report.items:
        verdict = "PASS" if item.passed else "FAIL"
        profiles = f"  ({item.profiles} profiles)" if item.profiles is not None else ""
        lines.append(f"{verdict}  {item.path}{profiles}")
        for found in item.findings:
            lines += _finding_lines(found, report.strict)
    summary = report.summary()
    lines.append("")
    lines.append(
        f"{summary['passed']} of {len(report.items)} {report.kind} pass; "
        f"{summary['errors']} errors, {summary['warnings']} warnings"
    )
    return _final("\n".join(lines)) + "\n"


WRITERS: dict[str, Callable[[RunReport], str]] = {"text": to_text, "json": to_json}


def sorted_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Errors first, then by code: the order every report shows."""
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return tuple(sorted(findings, key=lambda f: (rank[f.severity], f.code, f.pointer)))
