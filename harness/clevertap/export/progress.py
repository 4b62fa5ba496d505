"""A progress line while an export is read: on a terminal only, never into a pipe or a file.

``ctph infer`` may read a gigabyte; a count that moves says it is working. The line is
rewritten in place (``\\r``) at most ten times a second and cleared when reading ends, so a
terminal keeps only the command's real output; nothing is written when stderr is not a
terminal, so logs and CI output get no control characters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, TextIO

from .records import Progress

__all__ = ["TerminalProgress", "progress_for"]

_INTERVAL: Final = 0.1


class TerminalProgress:
    """Writes ``read N records, X.Y MB`` on one line of ``stream``."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._last = float("-inf")
        self._width = 0

    def update(self, records: int, bytes_read: int) -> None:
        now = self._clock()
        if now - self._last < _INTERVAL:
            return
        self._last = now
        line = f"ctph: read {records:,} records, {bytes_read / 1e6:,.1f} MB"
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = len(line)

    def finish(self) -> None:
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0


def progress_for(stream: TextIO) -> Progress | None:
    """A :class:`TerminalProgress` when ``stream`` is a terminal, else ``None`` (no output)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    return TerminalProgress(stream) if tty else None
