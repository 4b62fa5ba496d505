"""A progress line on a terminal. Interface only; lands next."""

from __future__ import annotations

from typing import TextIO

from .records import Progress

__all__ = ["TerminalProgress", "progress_for"]


class TerminalProgress:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def update(self, records: int, bytes_read: int) -> None:
        pass

    def finish(self) -> None:
        pass


def progress_for(stream: TextIO) -> Progress | None:
    return None
