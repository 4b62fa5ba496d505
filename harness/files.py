"""The user's files: which ones a command means, and reading them with a clear error.

Shared by ``ctph check`` (payload files), ``ctph verify`` and ``ctph render`` (templates), so a
missing path, an empty folder and an unreadable file read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatch
from pathlib import Path

from .errors import InputError, UsageError

__all__ = ["collect", "read_bytes"]


def collect(paths: Iterable[str], patterns: Sequence[str], what: str = "files") -> list[Path]:
    """Files given directly, plus the files under each folder whose name matches one of
    ``patterns``, sorted; a path that does not exist or a folder with no match is an error."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
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


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or an :class:`InputError` saying which file and why."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
