"""Findings and the catalogue they come from.

A :class:`Finding` is the harness's only output currency: checkers return them, policy turns them
into pass/fail, reports turn them into text. The catalogue (``contracts/rules.json``) is the single
place where a code's severity, summary and hint live; :func:`finding` builds a finding from it so
that no checker hard-codes a severity.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .contract import load

__all__ = [
    "Catalogue",
    "Finding",
    "Rule",
    "Severity",
    "catalogue",
    "finding",
]


class Severity(str, enum.Enum):
    """How bad a finding is: errors block a campaign, warnings only under ``--strict``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Rule:
    """One catalogue entry, as ``ctph explain`` shows it."""

    code: str
    name: str
    severity: Severity
    summary: str
    posthog: str
    hint: str
    source: str
    docs: str = ""
    """A public page on the behaviour the rule guards (PostHog's or CleverTap's docs); empty for
    rules about ctph's own settings. SARIF's ``helpUri`` and ``ctph explain`` show it."""


@dataclass(frozen=True)
class Finding:
    """One problem, located as precisely as the harness knows.

    ``pointer`` is an RFC 6901 JSON pointer into the rendered payload; ``line``/``column``
    (1-based) point into the template. ``profile`` is the smallest profile seen to trigger it and
    ``count`` how many profiles did. ``rejection`` is set when PostHog refuses the whole request
    because of it: ``(status, body)`` exactly as capture answers.
    """

    code: str
    severity: Severity
    message: str
    pointer: str = ""
    hint: str = ""
    line: int | None = None
    column: int | None = None
    profile: Mapping[str, Any] | None = field(default=None, compare=False)
    count: int = field(default=1, compare=False)
    rejection: tuple[int, str] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's shape for one finding (DESIGN.md)."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer,
            "profile": dict(self.profile) if self.profile is not None else None,
            "count": self.count,
            "hint": self.hint,
        }


class Catalogue(Mapping[str, Rule]):
    """Read-only ``code -> Rule`` mapping loaded from ``contracts/rules.json``."""

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        self._rules = dict(rules)

    def __getitem__(self, code: str) -> Rule:
        return self._rules[code.upper()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)


@cache
def catalogue() -> Catalogue:
    """The finding catalogue shipped in ``ctph_harness.contracts``; loaded once per process."""
    rules = {}
    for raw in load("rules.json")["rules"]:
        rule = Rule(**{**raw, "severity": Severity(raw["severity"])})
        rules[rule.code] = rule
    return Catalogue(rules)


def finding(
    code: str,
    message: str,
    *,
    pointer: str = "",
    severity: Severity | None = None,
    rejection: tuple[int, str] | None = None,
    line: int | None = None,
    column: int | None = None,
) -> Finding:
    """A finding whose severity and hint come from the catalogue (``severity`` overrides the
    catalogue only for the rules whose severity depends on context, e.g. CTPH122)."""
    rule = catalogue()[code]
    return Finding(
        code=code,
        severity=severity or rule.severity,
        message=message,
        pointer=pointer,
        hint=rule.hint,
        line=line,
        column=column,
        rejection=rejection,
    )
