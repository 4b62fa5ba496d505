"""SARIF 2.1.0: findings as GitHub code scanning (and every SARIF viewer) tracks them.

Rules come from the catalogue, so the rule list, its help and its levels are the ones ``ctph
explain`` shows. Each result carries a ``partialFingerprints`` entry built from what identifies
the problem rather than where the template happens to put it today (code, file, JSON pointer,
message): code scanning then keeps one alert across runs and across edits that move lines.
A file that could not be judged at all is a tool notification, not a result: it has no rule.

Shape and required fields follow the OASIS SARIF 2.1.0 schema (tests validate every report
against it) and GitHub's "SARIF support for code scanning" reference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from ..findings import Finding, Rule, Severity, catalogue
from ..redact import printable
from ..version import __version__
from .model import ItemReport, RunReport
from .text import told

__all__ = ["SCHEMA_URI", "artifact_uri", "fingerprint", "to_sarif"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_uri(path: str, flavour: type[PurePath] = PurePath) -> str:
    """A template path as a SARIF artifact URI: relative paths stay relative (resolved against
    ``%SRCROOT%``, the checkout GitHub maps them to), with ``/`` separators and percent-encoding
    of the file name's own bytes (a name that is not UTF-8 keeps them); absolute paths become
    ``file:`` URIs. ``flavour`` is the operating system's path rules (this machine's)."""
    pure = flavour(path)
    if pure.is_absolute():
        return pure.as_uri()
    parts = [p for p in pure.parts if p not in (".", "")]
    encoded = [quote(part, safe="", errors="surrogateescape") for part in parts]
    return "/".join(encoded) or "."


def fingerprint(path: str, found: Finding) -> str:
    """Stable identity of one finding across runs: the same problem in the same template keeps
    it when lines move; a different message (another property, another value) changes it."""
    text = "\x1f".join([found.code, artifact_uri(path), found.pointer, found.message])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _rule(rule: Rule) -> dict[str, Any]:
    help_text = f"{rule.summary}\n\nIn PostHog: {rule.posthog}\n\nFix: {rule.hint}"
    help_markdown = f"{rule.summary}\n\n**In PostHog:** {rule.posthog}\n\n**Fix:** {rule.hint}"
    out: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": f"{rule.summary} {rule.posthog}"},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": ["ctph", f"{rule.code[:5]}xx"]},
    }
    if rule.docs:
        out["helpUri"] = rule.docs
    return out


def _location(item: ItemReport, found: Finding | None) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": artifact_uri(item.path), "uriBaseId": "%SRCROOT%"}
    }
    if found is not None and found.line is not None and found.line >= 1:
        region: dict[str, Any] = {"startLine": found.line}
        if found.column is not None and found.column >= 1:
            region["startColumn"] = found.column
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if found is not None and found.pointer:
        location["logicalLocations"] = [{"fullyQualifiedName": found.pointer, "kind": "member"}]
    return location


def _results(
    report: RunReport, index: Mapping[str, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for item in report.items:
        if item.error is not None:
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{item.path}: {item.error}"},
                    "locations": [_location(item, None)],
                }
            )
            continue
        for found in item.findings:
            result: dict[str, Any] = {
                "ruleId": found.code,
                "level": _LEVEL[found.severity],
                "message": {"text": told(found)},
                "locations": [_location(item, found)],
                "partialFingerprints": {"ctph/v1": fingerprint(item.path, found)},
            }
            if found.code in index:
                result["ruleIndex"] = index[found.code]
            if found.count > 1:
                result["occurrenceCount"] = found.count
            results.append(result)
    return results, notifications


def to_sarif(report: RunReport) -> str:
    """The run as one SARIF 2.1.0 log (UTF-8 JSON, keys redacted)."""
    rules = list(catalogue().values())
    index = {rule.code: i for i, rule in enumerate(rules)}
    results, notifications = _results(report, index)
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "ctph",
                "fullName": "ctph-harness",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(rule) for rule in rules],
            }
        },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"kind": report.kind, "strict": report.strict, "passed": report.passed},
    }
    if report.seed is not None:
        run["properties"]["seed"] = report.seed
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return printable(json.dumps(log, ensure_ascii=False, indent=2)) + "\n"
