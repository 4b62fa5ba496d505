"""Report files from results that crossed a process boundary.

Under pytest-xdist each worker turns its templates' results into plain dicts (the JSON v1 item
shape); the controller rebuilds :class:`~ctph_harness.report.RunReport` from them here and
writes the file in the format its extension names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import UsageError
from .findings import Finding, Severity, catalogue
from .report import SUFFIXES, WRITERS, ItemReport, RunReport, format_for

__all__ = ["finding_from_dict", "item_from_dict", "report_format", "write_report_file"]


def report_format(path: Path) -> str:
    """The report format a file name asks for; an unknown extension is a usage error."""
    name = format_for(path)
    if name is None:
        known = ", ".join(SUFFIXES)
        raise UsageError(f"{path}: cannot tell the report format from its extension ({known})")
    return name


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    profile = data.get("profile")
    return Finding(
        code=data["code"],
        severity=Severity(data["severity"]),
        message=data["message"],
        pointer=data.get("pointer") or "",
        hint=data.get("hint") or catalogue()[data["code"]].hint,
        line=data.get("line"),
        column=data.get("column"),
        profile=dict(profile) if isinstance(profile, Mapping) else None,
        count=int(data.get("count", 1)),
    )


def item_from_dict(data: Mapping[str, Any]) -> ItemReport:
    error = data.get("error")
    return ItemReport(
        path=data["path"],
        findings=tuple(finding_from_dict(f) for f in data.get("findings", ())),
        passed=data["status"] == "pass",
        profiles=data.get("profiles"),
        example=data.get("example"),
        error=str(error) if error is not None else None,
    )


def write_report_file(
    path: Path, items: Iterable[Mapping[str, Any]], *, seed: int, strict: bool
) -> None:
    """Write the run's report to ``path`` in the format its extension names."""
    writer = WRITERS[report_format(path)]
    ordered = sorted((item_from_dict(d) for d in items), key=lambda item: item.path)
    report = RunReport(tuple(ordered), kind="templates", seed=seed, strict=strict)
    path.write_text(writer(report), encoding="utf-8")
