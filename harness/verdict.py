"""The single policy point: findings in, pass or fail out.

Checkers never decide whether a run fails; this module does, from the findings, ``--strict`` and
the user's ignore list, so that the CLI, the pytest plugin and every report agree.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .findings import Finding, Severity

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "failing", "kept", "passed"]

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def kept(findings: Iterable[Finding], ignore: Collection[str] = ()) -> list[Finding]:
    """Findings minus the codes the user chose to ignore (:attr:`HarnessConfig.ignore`, which
    is upper-cased already)."""
    ignored = frozenset(ignore)
    return [f for f in findings if f.code not in ignored]


def failing(finding: Finding, *, strict: bool = False) -> bool:
    """Errors always fail; warnings fail only under ``strict``; info never does."""
    return finding.severity is Severity.ERROR or (strict and finding.severity is Severity.WARNING)


def passed(findings: Iterable[Finding], *, strict: bool = False) -> bool:
    return not any(failing(f, strict=strict) for f in findings)
