"""A report rebuilt from results that crossed a process boundary.

Under pytest-xdist each worker turns its templates' results into plain dicts (the JSON v1 item
shape); the controller rebuilds the :class:`~ctph_harness.reports.model.RunReport` from them
here, in path order, so a parallel run's report equals a serial one's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

from ..findings import Finding, Severity, catalogue
from .model import ItemReport, RunReport

__all__ = ["finding_from_dict", "item_from_dict", "path_order", "report_from_dicts"]


def path_order(path: str) -> tuple[str, ...]:
    """The order reports list templates in: by path component, as ``ctph verify`` finds a
    folder's templates (``a/b`` before ``a-c``, which a plain string sort would swap), so a
    report rebuilt or merged from pieces lists them as one run does."""
    return PurePath(path).parts


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


def report_from_dicts(items: Iterable[Mapping[str, Any]], *, seed: int, strict: bool) -> RunReport:
    """The run's template report from its items' dicts, in report order (:func:`path_order`)."""
    ordered = sorted((item_from_dict(d) for d in items), key=lambda item: path_order(item.path))
    return RunReport(tuple(ordered), kind="templates", seed=seed, strict=strict)
