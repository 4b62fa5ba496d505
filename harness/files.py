"""The user's files: which ones a command means, and reading them with a clear error.

Shared by ``ctph check`` (payload files), ``ctph verify`` and ``ctph render`` (templates,
profiles), the pytest plugin and the settings loader, so a missing path, an empty folder, an
unreadable file and a file too large to be what it claims read the same everywhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Sequence
from fnmatch import fnmatch
from pathlib import Path
from typing import Final

from .errors import InputError, UsageError

__all__ = [
    "MAX_JSON_FILE_BYTES",
    "MAX_TEMPLATE_BYTES",
    "STDIN",
    "as_path",
    "find_files",
    "read_bytes",
    "write_text",
]

STDIN: Final = Path("-")
"""The path that means standard input (``ctph render --profile -``)."""
MAX_TEMPLATE_BYTES: Final = 2 * 1024 * 1024
"""Templates: larger input is refused. PostHog drops any event over 1,000,000 bytes (CTPH171), so
a custom body template of several megabytes cannot be a working campaign, and parsing one costs
seconds."""
MAX_JSON_FILE_BYTES: Final = 64 * 1024 * 1024
"""Payload, profile and event files: PostHog refuses request bodies over 20 MiB (CTPH172); the
margin keeps the full findings for a body just over, and nothing larger is worth reading."""


def as_path(raw: str) -> Path:
    """A command-line path: ``-`` is :data:`STDIN`; a file really named ``-`` (``./-``) gets
    its absolute path, because :class:`~pathlib.Path` reads ``./-`` as ``-`` again."""
    if raw == "-":
        return STDIN
    path = Path(raw)
    return path.absolute() if path == STDIN else path


def find_files(paths: Iterable[str], patterns: Sequence[str], what: str = "files") -> list[Path]:
    """Files given directly, plus the files under each folder whose name matches one of
    ``patterns``, sorted; a path that does not exist or a folder with no match is an error.
    ``-`` is :data:`STDIN`, read by :func:`read_bytes` like a file."""
    found: list[Path] = []
    for raw in paths:
        path = as_path(raw)
        if path is STDIN:
            if STDIN in found:
                raise UsageError("- (standard input) can be given only once")
            found.append(STDIN)
        elif path.is_file():
            found.append(path)
        elif path.is_dir():
            matches = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and any(fnmatch(p.name, g) for g in patterns)
            )
            if not matches:
                raise UsageError(f"{raw}: no {what} matching {', '.join(patterns)}")
            found += matches
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return found


def read_bytes(path: Path, *, limit: int | None = None, what: str = "templates") -> bytes:
    """The file's bytes (``-``: standard input), or an :class:`InputError` saying which file
    and why. At most ``limit`` bytes are ever held (default: the template limit): the size is
    checked from the file system first, and the read stops one byte past ``limit``, for files
    that grow and for pipes, so a 3 GB file is refused without reading it."""
    if limit is None:
        limit = MAX_TEMPLATE_BYTES
    try:
        if path is STDIN:
            if sys.stdin is None:
                raise InputError("standard input is closed: nothing to read for -")
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with path.open("rb") as handle:
                size = path.stat().st_size
                if size > limit:
                    raise _too_large(path, f"{size:,} bytes", limit, what)
                data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise _too_large(path, "larger than that", limit, what)
    return data


def _too_large(path: Path, size: str, limit: int, what: str) -> InputError:
    shown = "standard input" if path is STDIN else str(path)
    return InputError(f"{shown}: {size}; ctph reads {what} up to {limit:,} bytes")


def write_text(path: Path, text: str, *, make_folders: bool = True) -> None:
    """Write ``text`` to ``path`` as UTF-8, atomically (a failure leaves the file as it was),
    creating missing folders unless ``make_folders`` is false (a settings file belongs beside
    a project that exists); a failure is an :class:`InputError` naming the file."""
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
        if make_folders:
            path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(text, encoding="utf-8", newline="")
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
