"""``read_records``: every record of a list of export files, whatever their format, in order.

Each file is opened (gzip sniffed), its format told by content (``opening``) and handed to its
reader (``ndjson``, ``document``, ``table``); a file that cannot be read, or is none of the
formats, is one :class:`~.records.Problem` naming it, and the other files are still read. A
file that breaks off (a cut gzip stream, a disk error) keeps the records read before the break.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, TypeAlias

from .opening import Format, NotReadable, Opened, open_export, read_failure
from .records import OnProblem, Problem, Progress, Record

__all__ = ["Raw", "read_raw", "read_records"]

Raw: TypeAlias = tuple[str, int, object]
"""``(source, record number, decoded JSON value)``: an NDJSON record before normalising."""

_PROGRESS_EVERY: Final = 4096
"""Records between two progress updates: often enough for a live count, rare enough to cost
nothing (a ``tell()`` and a clock read)."""


def _records(
    opened: Opened, source: str, on_problem: OnProblem, raw: bool = False
) -> Iterator[Record] | Iterator[Raw]:
    if opened.format is Format.NDJSON:
        from .ndjson import read_ndjson, read_ndjson_raw

        if raw:
            return read_ndjson_raw(opened.stream, source, on_problem)
        return read_ndjson(opened.stream, source, on_problem)
    if opened.format is Format.JSON:
        from .document import read_document

        return read_document(opened.stream, source, on_problem)
    from .table import read_csv

    return read_csv(opened.stream, source, on_problem)


def read_records(
    paths: Sequence[str | Path],
    on_problem: OnProblem,
    *,
    limit: int | None = None,
    progress: Progress | None = None,
) -> Iterator[Record]:
    """Yield the records of ``paths`` in order, at most ``limit`` of them. Problems go to
    ``on_problem`` as they are met; nothing is raised for bad input. ``progress`` (when given)
    is updated as reading goes and finished at the end."""
    return _read(paths, on_problem, limit, progress, False)  # type: ignore[return-value]


def read_raw(
    paths: Sequence[str | Path],
    on_problem: OnProblem,
    *,
    limit: int | None = None,
    progress: Progress | None = None,
) -> Iterator[Record | Raw]:
    """:func:`read_records`, but an NDJSON line comes as :data:`Raw`, not normalised (the
    caller does it by column, with :class:`~.columns.RawColumns`, and so reports a bad value
    of an NDJSON record later than :func:`read_records` would). Other formats give records.
    A :data:`Raw` value is always a JSON object, so ``limit`` counts the same records."""
    return _read(paths, on_problem, limit, progress, True)


def _read(
    paths: Sequence[str | Path],
    on_problem: OnProblem,
    limit: int | None,
    progress: Progress | None,
    raw: bool,
) -> Iterator[Record | Raw]:
    count = 0
    done = 0  # bytes of the files already read whole
    try:
        for path in paths:
            if limit is not None and count >= limit:
                return
            source = str(path)
            try:
                with open_export(path) as opened:
                    records = _records(opened, source, on_problem, raw)
                    try:
                        if progress is None and limit is None:
                            yield from records  # no count to keep: no Python step a record
                        for record in records:
                            yield record
                            count += 1
                            if progress is not None and not count % _PROGRESS_EVERY:
                                progress.update(count, done + _position(opened))
                            if limit is not None and count >= limit:
                                return
                    except (OSError, EOFError, zlib.error) as error:
                        on_problem(Problem(source, None, None, _stopped(error)))
                    if progress is not None:
                        done += _position(opened)
                        progress.update(count, done)
            except NotReadable as error:
                on_problem(Problem(source, None, None, str(error)))
    finally:
        if progress is not None:
            progress.finish()


def _position(opened: Opened) -> int:
    try:
        return opened.stored.tell()
    except (OSError, ValueError):
        return 0


def _stopped(error: BaseException) -> str:
    """A read that failed midway, in the words opening uses for one that fails at once."""
    return f"reading stopped early: {read_failure(error)}; the records before it were read"
