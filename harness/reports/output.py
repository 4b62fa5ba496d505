"""The one report-file writer, for ``ctph verify --output`` and ``pytest --ctph-report`` alike.

:func:`check_report_file` runs before the run, so a file name whose format cannot be told, or a
place no folder can be made, is a usage error at start-up rather than a lost report (or a
traceback) after minutes of work. :func:`write_report_file` then creates missing folders and
writes atomically (a temporary file in the same folder, then :func:`os.replace`), so a CI never
picks up half a report. A target that is not a regular file (``/dev/stdout``, a FIFO, a
symlink) is written through instead of replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError
from ..files import write_text
from .formats import WRITERS, report_format
from .model import RunReport

__all__ = ["check_report_file", "write_report_file"]


def check_report_file(path: Path, fmt: str | None = None) -> str:
    """The format ``path`` will be written in (``fmt``, else the one its extension names), once
    it is known that the file can be written there: the path is not a folder, and its nearest
    existing ancestor is a folder we may write into (missing folders below it are created when
    the report is written). Anything else is a :class:`~ctph_harness.errors.UsageError`."""
    name = fmt if fmt is not None else report_format(path)
    if path.is_dir():
        raise UsageError(f"{path}: is a folder, not a report file")
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{path}: cannot create the report's folder ({ancestor} is not a folder)")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: cannot write the report (no permission to write in {ancestor})")
    return name


def write_report_file(path: Path, report: RunReport, fmt: str | None = None) -> None:
    """Write ``report`` to ``path`` in ``fmt`` (default: the format its extension names),
    creating missing folders, atomically. A failure is an
    :class:`~ctph_harness.errors.InputError` naming the file."""
    text = WRITERS[fmt if fmt is not None else report_format(path)](report)
    write_text(path, text)
