"""GitHub Actions workflow commands: findings as annotations on the pull request's diff.

One ``::error``/``::warning``/``::notice`` line per finding, with the template as ``file`` and
its line and column, titled with the finding code, then one plain summary line for the log.
Escaping follows the Actions toolkit (``@actions/core``'s ``command.ts``): in the message
``%``, CR and LF are percent-encoded; in a property ``:`` and ``,`` are too, so no template
path or message can end the command early or forge another one.
"""

from __future__ import annotations

from ..findings import Finding, Severity
from ..redact import escape_controls, printable
from .model import ItemReport, RunReport
from .text import told

__all__ = ["escape_data", "escape_property", "to_github"]

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """The runner's own escaping for CR, LF and ``%``; every other control character (ESC
    from a path would reach the log's terminal) shown as ``\\xNN``."""
    text = escape_controls(text, keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, properties: dict[str, str], message: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name} {props}::{escape_data(message)}"


def _annotation(item: ItemReport, found: Finding) -> str:
    properties = {"file": item.path}
    if found.line is not None and found.line >= 1:
        properties["line"] = str(found.line)
        if found.column is not None and found.column >= 1:
            properties["col"] = str(found.column)
    properties["title"] = f"{found.code} {found.severity.value}"
    return _command(_COMMAND[found.severity], properties, told(found, profile=False))


def to_github(report: RunReport) -> str:
    """The run as workflow commands (print them in a step; ``--output`` a file to keep them)."""
    lines: list[str] = []
    for item in report.items:
        if item.error is not None:
            lines.append(_command("error", {"file": item.path, "title": "ctph"}, item.error))
        lines += [_annotation(item, found) for found in item.findings]
    summary = report.summary()
    lines.append(
        f"ctph: {summary['passed']} of {len(report.items)} {report.kind} pass; "
        f"{summary['errors']} errors, {summary['warnings']} warnings"
    )
    return printable("\n".join(lines)) + "\n"
