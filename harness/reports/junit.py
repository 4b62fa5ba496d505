"""JUnit XML: the report CI systems (GitLab, Jenkins, GitHub test reporters) already display.

One ``<testsuite name="ctph">`` inside ``<testsuites>``, one ``<testcase name="contract">`` per
template, with ``<failure>`` exactly when the template failed, or ``<error>`` when the file could
not be judged at all (not a template). This is the common "Ant/Jenkins"
shape every CI parser reads; nothing outside it (no custom elements) so none of them chokes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import PurePosixPath, PureWindowsPath

from ..findings import Severity
from ..redact import printable
from .model import ItemReport, RunReport, first_failing
from .text import finding_lines

__all__ = ["classname", "to_junit"]

_TEMPLATE_SUFFIXES = (".liquid", ".json", ".txt")

# XML 1.0 forbids these characters even escaped; a CleverTap profile value can hold them, and one
# of them in a message would make the whole file unreadable to the CI.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def classname(path: str) -> str:
    """A dotted class name for a template path, as Jenkins groups it (package = folders, class =
    template name): ``fixtures/campaigns/guide-identify.json.liquid`` ->
    ``fixtures.campaigns.guide-identify``. Dots inside a part become ``_`` so they are not read
    as package separators."""
    pure = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    parts = [p for p in pure.parts if p not in (pure.anchor, ".", "..", "")]
    if not parts:
        return "template"
    name = parts[-1]
    while name.lower().endswith(_TEMPLATE_SUFFIXES) and "." in name[1:]:
        name = name[: name.rindex(".")]
    parts[-1] = name
    return ".".join(part.replace(".", "_") for part in parts)


def _testcase(item: ItemReport, strict: bool) -> ET.Element:
    case = ET.Element("testcase", classname=_xml_safe(classname(item.path)), name="contract")
    case.set("file", _xml_safe(item.path))
    if item.error is not None:
        error = ET.SubElement(case, "error", message=_xml_safe(item.error), type="ctph")
        error.text = _xml_safe(item.error + "\n")
    elif not item.passed:
        decisive = first_failing(item.findings, strict)
        if decisive is None and item.findings:
            decisive = item.findings[0]
        message = f"{decisive.code}: {decisive.message}" if decisive else "failed"
        failure = ET.SubElement(case, "failure", message=_xml_safe(message))
        failure.set("type", decisive.code if decisive else "ctph")
        lines = [line for found in item.findings for line in finding_lines(found, strict)]
        failure.text = _xml_safe("\n".join(lines) + "\n")
    notes = [f for f in item.findings if f.severity is not Severity.ERROR]
    if notes:
        out = ET.SubElement(case, "system-out")
        lines = [line for found in notes for line in finding_lines(found, strict)]
        out.text = _xml_safe("\n".join(lines) + "\n")
    return case


def to_junit(report: RunReport) -> str:
    """The run as JUnit XML (UTF-8 declared; parses with :mod:`xml.etree`)."""
    errors = sum(item.error is not None for item in report.items)
    failures = sum(not item.passed for item in report.items) - errors
    counts = {"tests": str(len(report.items)), "failures": str(failures), "errors": str(errors)}
    root = ET.Element("testsuites", {"name": "ctph", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "ctph", **counts, "skipped": "0"})
    properties = ET.SubElement(suite, "properties")
    facts = {"kind": report.kind, "strict": str(report.strict).lower()}
    if report.seed is not None:
        facts["seed"] = str(report.seed)
    for name, value in facts.items():
        ET.SubElement(properties, "property", name=name, value=value)
    for item in report.items:
        suite.append(_testcase(item, report.strict))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return printable('<?xml version="1.0" encoding="UTF-8"?>\n' + body) + "\n"
