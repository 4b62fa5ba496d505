"""Run reports: data first, text last.

A :class:`RunReport` is built once from results; each writer is a pure ``RunReport -> str``. Only
the CLI and the pytest plugin touch files or the terminal. Every writer's output passes through
:func:`~ctph_harness.redact.printable` (keys masked, lone surrogates escaped), so no report can
leak a key even if a message or a rendered profile carries one. ``text`` and ``json`` live here;
``junit``, ``markdown`` and ``html`` have a module each (``report_junit``, ``report_markdown``,
``report_html``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from .findings import Finding
from .redact import printable
from .report_common import SEVERITY_RANK, finding_lines
from .report_html import to_html
from .report_junit import to_junit
from .report_markdown import to_markdown

__all__ = [
    "SUFFIXES",
    "WRITERS",
    "ItemReport",
    "RunReport",
    "format_for",
    "sorted_findings",
    "to_html",
    "to_json",
    "to_junit",
    "to_markdown",
    "to_text",
]


@dataclass(frozen=True)
class ItemReport:
    """The verdict on one template (or one payload file for ``ctph check``)."""

    path: str
    findings: tuple[Finding, ...]
    passed: bool
    profiles: int | None = None
    example: str | None = None
    """One rendered body, for reports that show what the template sends (not in JSON v1)."""
    error: str | None = None
    """Why the file could not be judged at all (not a template: binary, not UTF-8, too large);
    such an item has no findings and does not pass. JSON: ``"status": "error"``, ``"error"``."""

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "pass" if self.passed else "fail"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "status": self.status}
        if self.error is not None:
            out["error"] = self.error
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


def to_json(report: RunReport) -> str:
    return printable(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)) + "\n"


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


def sorted_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Errors first, then by code: the order every report shows."""
    return tuple(sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.code, f.pointer)))


WRITERS: dict[str, Callable[[RunReport], str]] = {
    "text": to_text,
    "json": to_json,
    "junit": to_junit,
    "markdown": to_markdown,
    "html": to_html,
}
"""Format name -> writer; ``ctph verify --format`` offers exactly these keys."""

SUFFIXES: dict[str, str] = {
    ".txt": "text",
    ".json": "json",
    ".xml": "junit",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
"""Output file extension -> format, for ``--output FILE`` without ``--format``."""


def format_for(path: str | PurePath) -> str | None:
    """The format an output file's extension asks for (case-insensitive), or ``None``."""
    return SUFFIXES.get(PurePath(path).suffix.lower())
