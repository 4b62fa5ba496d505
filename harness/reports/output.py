"""The one report-file writer, for ``ctph verify --output`` and ``pytest --ctph-report`` alike.

:func:`check_report_file` runs before the run, so a file name whose format cannot be told, or a
place no folder can be made, is a usage error at start-up rather than a lost report (or a
traceback) after minutes of work. :func:`write_report_file` then creates missing folders and
writes atomically (a temporary file in the same folder, then :func:`os.replace`), so a CI never
picks up half a report. A target that is not a regular file (``/dev/stdout``, a FIFO, a
symlink) is written through instead of replaced.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import InputError, UsageError
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
    if path.is_symlink() or (path.exists() and not path.is_file()):
        # /dev/stdout, a FIFO, a symlink the user keeps: write through it; replacing it
        # atomically would put a regular file in its place (as root, even /dev/stdout's)
        try:
            with path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(text, encoding="utf-8", newline="")
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
