"""The writer registry: which formats exist, and which file suffix asks for which.

Kept apart from the model so the writers can import the model and this registry can import the
writers without a circle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from ..errors import UsageError
from .github import to_github
from .html import to_html
from .json_v1 import to_json
from .junit import to_junit
from .markdown import to_markdown
from .model import RunReport
from .sarif import to_sarif
from .text import to_text

__all__ = ["SUFFIXES", "WRITERS", "format_for", "report_format"]

WRITERS: dict[str, Callable[[RunReport], str]] = {
    "text": to_text,
    "json": to_json,
    "junit": to_junit,
    "markdown": to_markdown,
    "html": to_html,
    "sarif": to_sarif,
    "github": to_github,
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
    ".sarif": "sarif",
}
"""Output file extension -> format, for ``--output FILE`` without ``--format``."""


def format_for(path: str | PurePath) -> str | None:
    """The format an output file's extension asks for (case-insensitive), or ``None``."""
    return SUFFIXES.get(PurePath(path).suffix.lower())


def report_format(path: str | PurePath) -> str:
    """The report format a file name asks for; an unknown extension is a usage error."""
    name = format_for(path)
    if name is None:
        known = ", ".join(SUFFIXES)
        raise UsageError(f"{path}: cannot tell the report format from its extension ({known})")
    return name
