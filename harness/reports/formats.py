"""The writer registry: which formats exist, and which file suffix asks for which.

Kept apart from the model so the writers can import the model and this registry can name the
writers without a circle; a writer's module is imported only when its format is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePath

from ..errors import UsageError
from .model import RunReport

__all__ = ["SUFFIXES", "WRITERS", "format_for", "report_format"]

Writer = Callable[[RunReport], str]

_WHERE: dict[str, tuple[str, str]] = {
    "text": ("text", "to_text"),
    "json": ("json_v1", "to_json"),
    "junit": ("junit", "to_junit"),
    "markdown": ("markdown", "to_markdown"),
    "html": ("html", "to_html"),
    "sarif": ("sarif", "to_sarif"),
    "github": ("github", "to_github"),
}


class _Writers(Mapping[str, Writer]):
    """Format name -> writer, each writer's module imported when it is first asked for: the
    command line lists every format in ``--format``'s choices, and a run writes one or two."""

    def __getitem__(self, name: str) -> Writer:
        module, function = _WHERE[name]
        writer: Writer = getattr(importlib.import_module(f"{__package__}.{module}"), function)
        return writer

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


WRITERS: Mapping[str, Writer] = _Writers()
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
