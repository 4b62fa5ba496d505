"""The report model: what a run found, as data every format is written from.

A :class:`RunReport` is built once from results (by :func:`ctph_harness.runner.verify`, ``ctph
check`` or the pytest plugin); each writer in :mod:`~ctph_harness.reports.formats` is a pure
``RunReport -> str``. The order findings are shown in and the finding that decides a failed
verdict are decided here, once, so every format agrees on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..findings import Finding, Severity
from ..verdict import failing

__all__ = ["SEVERITY_RANK", "ItemReport", "RunReport", "first_failing", "sorted_findings"]

SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
"""Errors first: the order every report lists findings and codes in."""


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


def sorted_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Errors first, then by code: the order every report shows."""
    return tuple(sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.code, f.pointer)))


def first_failing(findings: Iterable[Finding], strict: bool) -> Finding | None:
    """The finding that decides a failed verdict (the first that fails under the policy)."""
    return next((f for f in findings if failing(f, strict=strict)), None)
