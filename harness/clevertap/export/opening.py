"""Opening one export file: gzip sniffed by its magic bytes, a UTF-8 BOM dropped, and the
format told by content, never by the file's name.

Formats (what CleverTap hands out and what people make of it):

* ``JSON``: a JSON document read as a stream of values: a Profiles API download page
  (``{"status": "success", "records": [...], "next_cursor": ...}``, one or several in a file), a
  JSON array of records, or records written one after another (pretty-printed, say);
* ``NDJSON``: one record a line;
* ``CSV``: a header row of property names (CleverTap's upload/export CSV), a profile a row.

Telling NDJSON from a JSON document: a file whose first object opens with one of the page's keys
is pages; otherwise, when one of its first lines is a whole JSON object by itself it is NDJSON
(one bad line then costs one record, not the rest of the file), else a document.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import gzip
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, cast

from ...files import STDIN
from .document import PAGE_START

__all__ = [
    "HEAD_BYTES",
    "Format",
    "NotReadable",
    "Opened",
    "detect",
    "open_export",
    "read_failure",
]

HEAD_BYTES: Final = 1 << 20
"""How much of a file's (decompressed) start is looked at to tell its format."""
_GZIP_MAGIC: Final = b"\x1f\x8b"
_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_PAGE_START: Final = re.compile(PAGE_START.pattern.encode("ascii"))
"""The document reader's test for a page, on the file's first bytes."""
_LINES_TRIED: Final = 5
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Format(enum.Enum):
    JSON = "JSON"
    NDJSON = "NDJSON"
    CSV = "CSV"


class NotReadable(Exception):
    """The file cannot be read as an export; the message quotes nothing from it."""


@dataclass(frozen=True, slots=True)
class Opened:
    stream: BinaryIO
    """The (decompressed) content from its first byte after any BOM."""
    format: Format
    stored: BinaryIO
    """The file as stored, whose position is how far reading got (for progress)."""


class _Rejoined(io.RawIOBase):
    """The bytes read ahead to tell the format, then the rest of the stream, so a pipe or a
    gzip stream need not seek back."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        return self._rest.readinto(buffer)  # type: ignore[attr-defined, no-any-return]


def _read_head(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < HEAD_BYTES:
        part = stream.read(HEAD_BYTES - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def detect(head: bytes) -> Format | str:
    """The format of a file starting with ``head`` (BOM removed), or why it is none."""
    text = head.lstrip()
    if not text:
        return "is empty"
    if text[:1] == b"[" or _PAGE_START.match(text):
        return Format.JSON
    if text[:1] == b"{":
        lines = text.split(b"\n", _LINES_TRIED)
        complete = lines if len(head) < HEAD_BYTES else lines[:-1]
        if not complete[:_LINES_TRIED]:
            return Format.NDJSON  # one very long first line: a record, not pretty-printing
        for line in complete[:_LINES_TRIED]:
            try:
                if type(json.loads(line)) is dict:
                    return Format.NDJSON
            except ValueError:
                continue
        return Format.JSON
    if _looks_like_csv(head):
        return Format.CSV
    return (
        "is none of the formats ctph reads (Profiles API pages, a JSON array of records, "
        "NDJSON, CSV with a header row)"
    )


def _looks_like_csv(head: bytes) -> bool:
    """A header row with at least two non-blank names and no control characters. One column is
    refused so that any text file is not taken for a CSV of one property."""
    first = head.split(b"\n", 1)[0]
    if len(first) == len(head) and len(head) >= HEAD_BYTES:
        return False
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if _CONTROL.search(line.rstrip("\r")):
        return False
    try:
        header = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return False
    return sum(1 for name in header if name.strip()) >= 2


@contextlib.contextmanager
def open_export(path: str | Path) -> Iterator[Opened]:
    """The opened file (standard input for :data:`~ctph_harness.files.STDIN`, ``-`` on the
    command line, which is read without seeking and left open); raises :class:`NotReadable`
    (before yielding) when it cannot be read or is none of the formats."""
    with contextlib.ExitStack() as stack:
        if path is STDIN:
            stored = cast(BinaryIO, sys.stdin.buffer)
        else:
            try:
                stored = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
            except OSError as error:
                why = error.strerror or type(error).__name__
                raise NotReadable(f"cannot be read ({why})") from None
            stack.enter_context(stored)
        try:
            magic = _read_exactly(stored, 2)
            content: BinaryIO
            if magic == _GZIP_MAGIC:
                # the magic bytes go back in front rather than by seeking: a pipe cannot seek
                rejoined = cast(BinaryIO, _Rejoined(magic, stored))
                content = cast(
                    BinaryIO, stack.enter_context(gzip.GzipFile(fileobj=rejoined, mode="rb"))
                )
                head = _read_head(content)
            else:
                content = stored
                head = magic + _read_head(stored)
        except (OSError, EOFError) as error:
            raise NotReadable(f"cannot be read ({read_failure(error)})") from None
        if head.startswith(_UTF16_BOMS):
            raise NotReadable("is UTF-16; save the export as UTF-8")
        if head.startswith(_BOM):
            head = head[len(_BOM) :]
        found = detect(head)
        if isinstance(found, str):
            raise NotReadable(found)
        stream = io.BufferedReader(_Rejoined(head, content), buffer_size=1 << 20)
        yield Opened(cast(BinaryIO, stream), found, stored)


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        part = stream.read(size - len(data))
        if not part:
            break
        data += part
    return data


def read_failure(error: BaseException) -> str:
    """Words for a failed read; gzip's and zlib's own messages quote no content, but this does
    not rely on it."""
    if isinstance(error, EOFError):
        return "the gzip stream is cut off"
    if isinstance(error, gzip.BadGzipFile):
        return "not a valid gzip stream"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return "corrupt compressed data"
